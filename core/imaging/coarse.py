"""A scene at a coarse pixel (tens of metres): per cell of `factor` x `factor` scene pixels, the dB of the mean
intensity (a multilook), the mean of the dB (what a despeckle filter sees; the gap between the two grows with
texture) and the share of valid pixels. One streamed pass, no whole-scene array at full resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hooks import RunHooks, as_hooks
from ..io.scene import STRIP_PIXELS, strip_height_for


def coarse_factor(pixel_size_m: float, coarse_pixel_m: float) -> int:
    """Scene pixels per coarse cell side: the coarse pixel in whole scene pixels (1 for scenes at least as
    coarse)."""
    return max(1, round(coarse_pixel_m / pixel_size_m))


@dataclass
class CoarseCells:
    intensity_db: np.ndarray  # (rows, cols) float32, NaN where a cell has no valid pixel
    mean_db: np.ndarray
    valid: np.ndarray  # share of valid pixels, 0..1
    factor: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.valid.shape


def _blocks(values: np.ndarray, factor: int) -> np.ndarray:
    """`values` as (rows, factor, cols, factor) cells, padded with NaN (no data) beyond the array."""
    rows, cols = -(-values.shape[0] // factor), -(-values.shape[1] // factor)
    padded = np.full((rows * factor, cols * factor), np.nan, np.float32)
    padded[:values.shape[0], :values.shape[1]] = values
    return padded.reshape(rows, factor, cols, factor)


def cells_of(db: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intensity dB, mean dB, valid share) of the cells of `db` (NaN = no data); edge cells are partial."""
    blocks = _blocks(db, factor)
    valid = np.isfinite(blocks)
    count = valid.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(valid, np.power(10.0, blocks / 10.0, dtype=np.float32), 0.0).sum(axis=(1, 3)) / count
        mean_db = np.where(valid, blocks, 0.0).sum(axis=(1, 3)) / count
        intensity_db = 10.0 * np.log10(intensity)
    # Partial edge cells count their share of the full cell: no data beyond the scene is no data.
    return (intensity_db.astype(np.float32), mean_db.astype(np.float32),
            (count / float(factor * factor)).astype(np.float32))


def scene_cells(scene, factor: int, hooks: RunHooks | None = None, strip_pixels: int = STRIP_PIXELS) -> CoarseCells:
    """The coarse cells of a whole scene, read in strips of whole cell rows."""
    hooks = as_hooks(hooks)
    strip_height = max(factor, strip_height_for(scene.width, strip_pixels) // factor * factor)
    parts = []
    for row in range(0, scene.height, strip_height):
        hooks.check_cancel()
        height = min(strip_height, scene.height - row)
        parts.append(cells_of(scene.read_db(0, row, scene.width, height), factor))
        hooks.progress(100.0 * (row + height) / scene.height)
    intensity_db, mean_db, valid = (np.concatenate(channel) for channel in zip(*parts))
    return CoarseCells(intensity_db, mean_db, valid, factor)


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean of `values` over the same cells as cells_of (NaN ignored; a cell without values is NaN)."""
    blocks = _blocks(values, factor)
    known = np.isfinite(blocks)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(known, blocks, 0.0).sum(axis=(1, 3)) / known.sum(axis=(1, 3))).astype(np.float32)
