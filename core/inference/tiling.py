"""Tiled inference, parts one and three: the multi-scale tile grid and the streaming strip merger.

The grid is pure arithmetic. The merger sums weight x output and the weight map in scene coordinates (at a
chosen output stride), and hands out finished strips, Gaussian-filtered as the paper does, as soon as no
later tile can touch them: memory stays bounded by a few tile heights whatever the scene size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """A square window of the scene, in scene pixels; it may reach past the scene (read as no-data)."""

    col: int
    row: int
    side: int


def axis_positions(length: int, side: int, overlap: float, align: int = 1) -> list[int]:
    """Window starts along one axis: evenly spread multiples of `align`, first at 0, the last reaching the end."""
    if length <= side:
        return [0]
    step = side * (1.0 - overlap)
    count = math.ceil((length - side) / step) + 1
    last = math.ceil((length - side) / align) * align
    return sorted({round(position / align) * align for position in np.linspace(0, last, count)})


def tile_grid(width: int, height: int, sides: Sequence[int], overlap: float, align: int = 1) -> list[Tile]:
    """Overlapping windows of every side in `sides`, ordered by top row (the merger relies on that).

    Starts are multiples of `align`, so that tiles fall on the merger's output grid.
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if not sides or min(sides) <= 0:
        raise ValueError(f"tile sides must be positive, got {list(sides)}")
    tiles = [Tile(col, row, side) for side in sorted(set(sides))
             for row in axis_positions(height, side, overlap, align)
             for col in axis_positions(width, side, overlap, align)]
    return sorted(tiles, key=lambda tile: (tile.row, tile.side, tile.col))


def blend_window(size: int, floor: float = 1e-3) -> np.ndarray:
    """A separable tent weight: tile centres count most, so overlapping tiles blend without seams."""
    ramp = 1.0 - np.abs(np.linspace(-1.0, 1.0, size, dtype=np.float32))
    ramp = np.maximum(ramp, floor)
    return np.outer(ramp, ramp)


STRIP_CELLS = 2**21


def shift_rows_up(buffer, count: int, kept: int) -> None:
    """Move rows count..count + kept of a (..., rows, cols) tensor to the top, in place, in chunks no taller than
    the shift so that no chunk overlaps its source."""
    for start in range(0, kept, count):
        stop = min(start + count, kept)
        buffer[..., start:stop, :] = buffer[..., start + count:stop + count, :]


class StripMerger:
    """Accumulates tile outputs (channels, h, w) on a grid of `stride` scene pixels and emits finished strips.

    Tiles must be added in order of their top row. `ready(next_row)` yields strips (first grid row, numpy array
    (channels, rows, grid width)) whose rows, and their Gaussian halo, no tile from `next_row` on can reach.
    The sums live on `device` (torch), so on a GPU tile outputs are merged and filtered where they were made
    and only finished strips cross to the host.
    """

    def __init__(self, scene_width: int, scene_height: int, channels: int, stride: int = 1,
                 sigma: float = 0.0, strip_rows: int | None = None, prepare=None, device: str = "cpu",
                 tile_rows: int = 0):
        import torch

        self.stride = stride
        self.width = math.ceil(scene_width / stride)
        self.height = math.ceil(scene_height / stride)
        self.channels = channels
        self.sigma = sigma
        self.halo = int(4.0 * sigma + 0.5) if sigma > 0 else 0  # scipy's default truncation radius
        # Strips of about STRIP_CELLS cells: a strip's temporaries (filtering, contouring) stay the same size
        # however wide the scene, within 32-256 rows.
        self.strip_rows = strip_rows or min(256, max(32, STRIP_CELLS // self.width))
        self.prepare = prepare  # applied to the averaged map (a tensor) before the Gaussian (pointwise statistics)
        self.device = device
        self.base = 0  # grid row of buffer row 0
        self.emitted = 0  # grid rows below this were handed out
        self.buffered_rows = 0  # buffer rows in use, from row 0
        # Buffers sized once for the tallest tile (`tile_rows`, on the grid) below a strip and its halos, and
        # shifted in place: re-making or growing them held the old and the new buffer at once and left the
        # allocator holding freed blocks of every size (wide scenes, 1 px maps).
        rows = min(self.height, tile_rows + self.strip_rows + 2 * self.halo) if tile_rows else 0
        self.sums = torch.zeros((channels, rows, self.width), dtype=torch.float32, device=device)
        self.weights = torch.zeros((rows, self.width), dtype=torch.float32, device=device)

    def _ensure_rows(self, end: int) -> None:
        needed = min(end, self.height) - self.base
        if needed > self.weights.shape[0]:
            sums = self.sums.new_zeros((self.channels, needed, self.width))
            weights = self.weights.new_zeros((needed, self.width))
            sums[:, :self.buffered_rows] = self.sums[:, :self.buffered_rows]
            weights[:self.buffered_rows] = self.weights[:self.buffered_rows]
            self.sums, self.weights = sums, weights
        self.buffered_rows = max(self.buffered_rows, needed)

    def _drop_rows(self, count: int) -> None:
        """Shift the buffers up by `count` rows, in place, and clear the rows freed at the bottom."""
        kept = self.buffered_rows - count
        shift_rows_up(self.sums, count, kept)
        shift_rows_up(self.weights, count, kept)
        self.sums[:, kept:self.buffered_rows] = 0
        self.weights[kept:self.buffered_rows] = 0
        self.buffered_rows = kept
        self.base += count

    def add(self, grid_col: int, grid_row: int, output, weight) -> None:
        """Add `output` (channels, h, w) with its weight map (h, w), both on the grid, at (grid_col, grid_row).

        Either may be a numpy array or a tensor."""
        import torch

        if grid_row < self.emitted:
            raise ValueError("tiles must be added in order of their top row")
        output = torch.as_tensor(output, dtype=torch.float32, device=self.device)
        weight = torch.as_tensor(weight, dtype=torch.float32, device=self.device)
        height, width = weight.shape
        rows = slice(max(grid_row, 0), min(grid_row + height, self.height))
        cols = slice(max(grid_col, 0), min(grid_col + width, self.width))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return
        self._ensure_rows(rows.stop)
        part = (slice(rows.start - grid_row, rows.stop - grid_row), slice(cols.start - grid_col, cols.stop - grid_col))
        local = slice(rows.start - self.base, rows.stop - self.base)
        tile_weight = weight[part]
        self.sums[:, local, cols] += output[(slice(None), *part)] * tile_weight
        self.weights[local, cols] += tile_weight

    def ready(self, next_grid_row: int) -> Iterator[tuple[int, np.ndarray]]:
        """Strips complete before `next_grid_row` (the top row of the next tile to come)."""
        while True:
            end = min(self.emitted + self.strip_rows, self.height)
            complete_until = min(next_grid_row, self.height)
            if end <= self.emitted or end + self.halo > complete_until and complete_until < self.height:
                return
            yield self._emit(end)

    def finish(self) -> Iterator[tuple[int, np.ndarray]]:
        yield from self.ready(self.height)

    def _emit(self, end: int) -> tuple[int, np.ndarray]:
        first = self.emitted
        low = max(first - self.halo, 0)
        high = min(end + self.halo, self.height)
        self._ensure_rows(high)
        local = slice(low - self.base, high - self.base)
        weights = self.weights[local]
        block = self.sums[:, local] / weights.clamp_min(1e-12)
        block[:, weights <= 0] = float("nan")  # never covered: only past the scene, never inside it
        if self.prepare is not None:
            block = self.prepare(block)
        if self.sigma > 0:
            block = nan_gaussian(block, self.sigma)
        strip = block[:, first - low:end - low].cpu().numpy()
        self.emitted = end
        drop = max(end - self.halo, 0) - self.base  # the next strip's upper halo stays
        if drop > 0:
            self._drop_rows(drop)
        return first, strip


def gaussian_filter(block, sigma: float):
    """scipy.ndimage.gaussian_filter(mode="nearest") over the last two axes of a (channels, rows, cols) tensor.

    Weighted sums of shifted slices, not a convolution: cuDNN may run fp32 convolutions in TF32 on a GPU,
    which would make the merged map depend on the device."""
    import torch.nn.functional as F  # noqa: N812

    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = kernel / kernel.sum()
    def along(values, axis: int):
        length = values.shape[axis]
        pad = (radius, radius, 0, 0) if axis == -1 else (0, 0, radius, radius)
        padded = F.pad(values[:, None], pad, mode="replicate")[:, 0]
        result = padded.narrow(axis, 0, length) * float(kernel[0])
        for offset in range(1, len(kernel)):  # in place: one accumulator, whatever the strip's width
            result.add_(padded.narrow(axis, offset, length), alpha=float(kernel[offset]))
        return result

    return along(along(block, -1), -2)


def nan_gaussian(block, sigma: float):
    """Gaussian filter that ignores NaN (normalised convolution) and keeps NaN where it was.

    One channel at a time: the padded copies of a whole wide strip would multiply its memory."""
    import torch

    result = torch.empty_like(block)
    for index, channel in enumerate(block):
        channel = channel[None]
        valid = torch.isfinite(channel)
        if bool(valid.all()):
            result[index] = gaussian_filter(channel, sigma)[0]
            continue
        weight = gaussian_filter(valid.to(channel.dtype), sigma)
        smoothed = gaussian_filter(torch.where(valid, channel, torch.zeros_like(channel)), sigma) / weight
        result[index] = torch.where(valid, smoothed, torch.full_like(smoothed, float("nan")))[0]
    return result
