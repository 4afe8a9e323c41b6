"""Tiled inference over a scene: tile grid -> prefetching reader -> predictor -> streaming merger."""

from __future__ import annotations

import ctypes
import functools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from ..config import InferenceConfig
from ..errors import CoastlineError, InputError
from ..io.scene import Scene
from .inputs import resize_area
from .predict import VALID, MapChannels
from .tiling import StripMerger, Tile, blend_window, shift_rows_up, tile_grid


def map_stride(sides: Sequence[int], model_side: int) -> int:
    """Scene pixels per merged-map cell when none is set: 2, unless a model pixel spans fewer than 2 scene pixels
    at the smallest crop side (a scene read about one to one), where a 2 px map would throw away detail the
    model gives (docs/benchmarks.md, session 13: 40 m scenes 66 m against 50 m)."""
    return 2 if min(sides) >= 2 * model_side else 1


def with_map_stride(config: InferenceConfig, sides: Sequence[int], model_side: int) -> InferenceConfig:
    """`config` with its stride decided for these crop sides."""
    return config if config.stride else replace(config, stride=map_stride(sides, model_side))


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc only
    except (AttributeError, OSError, TypeError):
        return None


def release_free_heap() -> None:
    """Hand memory freed inside the C heap back to the system (glibc's malloc_trim; elsewhere nothing).

    Each strip's temporaries are freed between long-lived line pieces, and glibc keeps such holes: on a 20,000 px
    wide scene the process grew by gigabytes of free heap over a run (docs/benchmarks.md, session 14)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """Run an iterator in a background thread, `depth` items ahead, so reading overlaps GPU work."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
            buffer.put(done)
        except BaseException as error:  # handed to the consumer, which re-raises it
            buffer.put(error)

    thread = threading.Thread(target=produce, name="sar-coastline-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                pass


class DeviceRows:
    """Scene rows in dB on the inference device, read once each, in order, and tiles cut from them.

    The tile grid overlaps (each pixel is in about four windows of each scale), so reading and resizing each
    window on the host would do that work several times and ship every window to the GPU; here each row
    crosses once. Rows above the current tile are dropped, so memory stays at about one tile height.
    """

    def __init__(self, scene: Scene, device: str, chunk_rows: int = 256):
        import torch

        self.width, self.height = scene.width, scene.height
        self.chunks = prefetch(scene.iter_strips(chunk_rows))  # the host reads ahead while the device works
        self.device = device
        self.top = 0  # scene row of buffer row 0
        self.count = 0  # buffer rows holding scene rows
        # One buffer, grown only when a batch needs more rows, and shifted in place (see StripMerger).
        self.buffer = torch.empty((0, scene.width), dtype=torch.float32, device=device)

    def _append(self, chunk) -> None:
        import torch

        needed = self.count + len(chunk)
        if needed > self.buffer.shape[0]:
            buffer = torch.empty((needed, self.width), dtype=torch.float32, device=self.device)
            buffer[:self.count] = self.buffer[:self.count]
            self.buffer = buffer
        self.buffer[self.count:needed] = torch.from_numpy(chunk)
        self.count = needed

    def _drop(self, rows: int) -> None:
        shift_rows_up(self.buffer, rows, self.count - rows)
        self.count, self.top = self.count - rows, self.top + rows

    def window(self, tile: Tile):
        """(side, side) dB tensor; past the scene is NaN (no data). Tiles must come in order of their row."""
        import torch

        end = min(tile.row + tile.side, self.height)
        while True:
            if tile.row > self.top and self.count:  # rows above the tile first: less to hold while reading
                self._drop(min(tile.row - self.top, self.count))
            if self.top + self.count >= end:
                break
            _first, chunk = next(self.chunks)
            self._append(chunk)
        window = torch.full((tile.side, tile.side), float("nan"), device=self.device)
        right = min(tile.col + tile.side, self.width)
        window[:end - tile.row, :right - tile.col] = self.buffer[:end - tile.row, tile.col:right]
        return window

    def close(self) -> None:
        self.chunks.close()


def _tile_inputs(rows: DeviceRows, tiles: Sequence[Tile], model_side: int, stride: int):
    """The tiles that hold data, their windows resized to the model side, and their valid share per cell."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    kept, windows, valid = [], [], []
    for tile in tiles:
        window = rows.window(tile)[None, None]
        finite = torch.isfinite(window)
        cells = tile.side // stride
        if bool(finite.all()):  # most tiles: no no-data to weigh
            valid.append(torch.ones((1, cells, cells), device=window.device))
        elif bool(finite.any()):
            valid.append(F.adaptive_avg_pool2d(finite[0].float(), cells))
        else:
            continue
        kept.append(tile)
        windows.append(resize_area(window, model_side))
    return kept, (torch.cat(windows) if windows else None), valid


def _ready_strips(merger: StripMerger, next_row: int) -> Iterator[tuple[int, np.ndarray]]:
    for strip in merger.ready(next_row):
        yield strip
        release_free_heap()  # after the consumer is done with the strip's temporaries


def merged_channels(predictor) -> MapChannels:
    """The channels of the merged map: the predictor's, then VALID (each cell's share of valid pixels)."""
    return predictor.channels.plus(VALID)


def stream_probabilities(scene: Scene, predictor, config: InferenceConfig, sides: Sequence[int],
                         progress: Callable[[float], None], check_cancel: Callable[[], None],
                         figures: dict | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Merged, smoothed maps in strips: (first grid row, array (channels, rows, grid width)), channels named by
    `merged_channels(predictor)`.

    Reading, resizing, merging and smoothing run on the predictor's device; only finished strips come back
    to the host. `figures` receives the tile counts (all tiles, and those with data, which the models ran on).
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    scene_pass = predictor.start(scene)
    config = with_map_stride(config, sides, predictor.model_side)
    stride = config.stride
    sides = sorted({max(stride, round(side / stride) * stride) for side in sides})
    device = predictor.device
    tiles = tile_grid(scene.width, scene.height, sides, config.overlap, align=stride)
    merger = StripMerger(scene.width, scene.height, len(merged_channels(predictor)), stride, config.smoothing_sigma,
                         prepare=predictor.variance_from_moments, device=device, tile_rows=max(sides) // stride)
    weights = {side: torch.from_numpy(blend_window(side // stride)).to(device) for side in sides}
    rows = DeviceRows(scene, device)
    tiles_with_data = 0
    try:
        end = 0
        while end < len(tiles):
            check_cancel()
            start, end = end, min(end + scene_pass.batch_size, len(tiles))  # the batch size drops after an OOM
            batch_tiles, windows, valid = _tile_inputs(rows, tiles[start:end], predictor.model_side, stride)
            tiles_with_data += len(batch_tiles)
            if batch_tiles:
                outputs = predictor(windows, scene_pass)
                for index, tile in enumerate(batch_tiles):
                    # Strips finished above this tile go first: the merger then holds one tile's rows, however
                    # many tile rows a batch spans (a GPU batch on a narrow scene spans several).
                    yield from _ready_strips(merger, tile.row // stride)
                    cells = tile.side // stride
                    resized = F.interpolate(outputs[index:index + 1], size=(cells, cells), mode="bilinear",
                                            align_corners=False)[0]
                    merger.add(tile.col // stride, tile.row // stride, torch.cat([resized, valid[index]]),
                               weights[tile.side])
            yield from _ready_strips(merger, tiles[end].row // stride if end < len(tiles) else merger.height)
            progress(end / len(tiles))
    except torch.cuda.OutOfMemoryError:  # the predictor copes with its own; this is the scene rows or the merger
        raise CoastlineError(f"The GPU ran out of memory holding {scene.width} px wide strips of the scene and its "
                             "merged map. Close other GPU programs, choose smaller scales, or choose DEVICE cpu."
                             ) from None
    finally:
        rows.close()
    if figures is not None:
        figures.update(tiles=len(tiles), tiles_with_data=tiles_with_data)
    if tiles_with_data == 0:
        raise InputError(f"'{scene.name}' holds only no-data pixels (value {scene.nodata} or 0). Check the band "
                         "and the no-data setting of the layer.")
    yield from merger.finish()
