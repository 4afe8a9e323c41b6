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
from scipy import ndimage


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


class StripMerger:
    """Accumulates tile outputs (channels, h, w) on a grid of `stride` scene pixels and emits finished strips.

    Tiles must be added in order of their top row. `ready(next_row)` yields strips (first grid row, array
    (channels, rows, grid width)) whose rows, and their Gaussian halo, no tile from `next_row` on can reach.
    """

    def __init__(self, scene_width: int, scene_height: int, channels: int, stride: int = 1,
                 sigma: float = 0.0, strip_rows: int = 256, prepare=None):
        self.stride = stride
        self.width = math.ceil(scene_width / stride)
        self.height = math.ceil(scene_height / stride)
        self.channels = channels
        self.sigma = sigma
        self.halo = int(4.0 * sigma + 0.5) if sigma > 0 else 0  # scipy's default truncation radius
        self.strip_rows = strip_rows
        self.prepare = prepare  # applied to the averaged map before the Gaussian (pointwise statistics)
        self.base = 0  # grid row of buffer row 0
        self.emitted = 0  # grid rows below this were handed out
        self.sums = np.zeros((channels, 0, self.width), np.float32)
        self.weights = np.zeros((0, self.width), np.float32)

    def _ensure_rows(self, end: int) -> None:
        missing = min(end, self.height) - (self.base + self.weights.shape[0])
        if missing > 0:
            self.sums = np.concatenate([self.sums, np.zeros((self.channels, missing, self.width), np.float32)], 1)
            self.weights = np.concatenate([self.weights, np.zeros((missing, self.width), np.float32)], 0)

    def add(self, grid_col: int, grid_row: int, output: np.ndarray, weight: np.ndarray) -> None:
        """Add `output` (channels, h, w) with its weight map (h, w), both on the grid, at (grid_col, grid_row)."""
        if grid_row < self.emitted:
            raise ValueError("tiles must be added in order of their top row")
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
        block = self.sums[:, local] / np.maximum(weights, 1e-12)
        block[:, weights <= 0] = np.nan  # never covered: only past the scene, never inside it
        if self.prepare is not None:
            block = self.prepare(block)
        if self.sigma > 0:
            block = np.stack([_nan_gaussian(channel, self.sigma) for channel in block])
        strip = block[:, first - low:end - low]
        self.emitted = end
        keep_from = max(end - self.halo, 0) - self.base  # the next strip's upper halo stays
        self.sums = self.sums[:, keep_from:]
        self.weights = self.weights[keep_from:]
        self.base += keep_from
        return first, strip


def _nan_gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter that ignores NaN (normalised convolution) and keeps NaN where it was."""
    valid = np.isfinite(values)
    if valid.all():
        return ndimage.gaussian_filter(values, sigma, mode="nearest")
    weight = ndimage.gaussian_filter(valid.astype(np.float32), sigma, mode="nearest")
    smoothed = ndimage.gaussian_filter(np.where(valid, values, 0.0).astype(np.float32), sigma, mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        result = smoothed / weight
    result[~valid] = np.nan
    return result
