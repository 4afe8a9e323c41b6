"""Tiled inference over a scene: tile grid -> prefetching reader -> predictor -> streaming merger."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .raster import Scene, read_padded_db
from .tiling import StripMerger, Tile, blend_window, tile_grid


@dataclass(frozen=True)
class InferenceConfig:
    scales: tuple[int, ...] | None = None  # crop sides read and resized to the model side; None: the models'
    overlap: float = 0.5
    batch_size: int | None = None  # None: 64 on a GPU, 4 on the CPU
    device: str = "auto"
    precision: str = "auto"
    stride: int = 2  # scene pixels per cell of the merged map; models see 2-3 scene pixels per input pixel
    smoothing_sigma: float = 1.0  # Gaussian on the merged map, in cells (the paper's filter)


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


def _read_batches(scene: Scene, tiles: Sequence[Tile], batch_size: int, model_side: int, stride: int):
    """(index after the batch, its non-empty tiles, their dB windows at the model side, valid share per cell)."""
    import torch

    from .predict import resize_area

    for start in range(0, len(tiles), batch_size):
        batch_tiles, windows, valid = [], [], []
        for tile in tiles[start:start + batch_size]:
            window = torch.from_numpy(read_padded_db(scene, tile.col, tile.row, tile.side))[None, None]
            finite = torch.isfinite(window)
            if not finite.any():
                continue
            batch_tiles.append(tile)
            windows.append(resize_area(window, model_side))
            valid.append(torch.nn.functional.adaptive_avg_pool2d(finite.float(), tile.side // stride)[0, 0].numpy())
        yield min(start + batch_size, len(tiles)), batch_tiles, (torch.cat(windows) if windows else None), valid


def stream_probabilities(scene: Scene, predictor, config: InferenceConfig, sides: Sequence[int],
                         progress: Callable[[float], None], check_cancel: Callable[[], None]
                         ) -> Iterator[tuple[int, np.ndarray]]:
    """Merged, smoothed maps in strips: (first grid row, array (predictor.channels + 1, rows, grid width)).

    The last channel is the share of valid (not no-data) pixels in each cell.
    """
    import torch.nn.functional as F  # noqa: N812

    if predictor.needs_scene_percentiles:
        from .raster import scene_db_percentiles

        predictor.scene_percentiles = scene_db_percentiles(scene)
    stride = config.stride
    sides = sorted({max(stride, round(side / stride) * stride) for side in sides})
    if min(sides) < predictor.model_side:
        raise InputError(f"Scales {sides} are smaller than the model side {predictor.model_side}.")
    tiles = tile_grid(scene.width, scene.height, sides, config.overlap, align=stride)
    merger = StripMerger(scene.width, scene.height, predictor.channels + 1, stride, config.smoothing_sigma,
                         prepare=predictor.variance_from_moments)
    weights = {side: blend_window(side // stride) for side in sides}
    batches = prefetch(_read_batches(scene, tiles, predictor.batch_size, predictor.model_side, stride))
    tiles_with_data = 0
    for end, batch_tiles, windows, valid in batches:
        check_cancel()
        tiles_with_data += len(batch_tiles)
        if batch_tiles:
            outputs = predictor(windows)
            for index, tile in enumerate(batch_tiles):
                cells = tile.side // stride
                resized = F.interpolate(outputs[index:index + 1], size=(cells, cells), mode="bilinear",
                                        align_corners=False)[0].cpu().numpy()
                stacked = np.concatenate([resized, valid[index][None]])
                merger.add(tile.col // stride, tile.row // stride, stacked, weights[tile.side])
        next_row = tiles[end].row // stride if end < len(tiles) else merger.height
        yield from merger.ready(next_row)
        progress(end / len(tiles))
    if tiles_with_data == 0:
        raise InputError(f"'{scene.name}' holds only no-data pixels (value {scene.nodata} or 0). Check the band "
                         "and the no-data setting of the layer.")
    yield from merger.finish()
