"""Augmentations for SAR crops at the model side (mission step 3), image and labels kept aligned.

A sample is a dict: `db` (H, W) float32 calibrated backscatter (NaN = no data), `classes` (H, W) uint8
(sea / no-data / land), `coast` (H, W) float32 in [0, 1]. Intensity changes work in dB, where SAR's
multiplicative effects (gain, speckle) are additive; no histogram equalisation (it hurt in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .labels import NODATA


@dataclass(frozen=True)
class AugmentConfig:
    flips: bool = True
    max_rotation_deg: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    affine_probability: float = 0.3
    gain_db: float = 4.0  # additive dB shift (multiplicative in intensity)
    contrast_range: tuple[float, float] = (0.75, 1.3)  # dB spread around the crop median
    gamma_range: tuple[float, float] = (0.7, 1.4)
    speckle_probability: float = 0.5  # extra multiplicative Gamma speckle
    noise_db: float = 0.5  # additive noise in dB
    blur_probability: float = 0.2
    cropout_probability: float = 0.2
    db_window: tuple[float, float] = (-30.0, 5.0)


def flip_rotate(sample: dict, rng: np.random.Generator) -> dict:
    turns = int(rng.integers(4))
    flip = bool(rng.integers(2))
    out = {}
    for key, value in sample.items():
        value = np.rot90(value, turns)
        out[key] = np.ascontiguousarray(value[:, ::-1] if flip else value)
    return out


def affine(sample: dict, rng: np.random.Generator, max_degrees: float, scale_range: tuple[float, float]) -> dict:
    """A small rotation and rescale about the centre; outside the source becomes no-data."""
    angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees))
    scale = rng.uniform(*scale_range)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) / scale
    centre = (np.array(sample["db"].shape) - 1) / 2.0
    offset = centre - rotation @ centre
    warp = {"db": (1, np.nan), "classes": (0, NODATA), "coast": (1, 0.0)}
    return {key: ndimage.affine_transform(value, rotation, offset, order=warp[key][0], mode="constant",
                                          cval=warp[key][1]).astype(value.dtype)
            for key, value in sample.items()}


def intensity(db: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Gain, contrast, gamma, speckle, noise and blur, all in dB; no-data stays NaN."""
    valid = np.isfinite(db)
    if not valid.any():
        return db
    median = float(np.median(db[valid]))
    db = median + (db - median) * rng.uniform(*config.contrast_range) + rng.uniform(-config.gain_db, config.gain_db)
    low, high = config.db_window
    unit = np.clip((db - low) / (high - low), 1e-4, 1.0)
    db = low + (high - low) * unit ** rng.uniform(*config.gamma_range)
    if rng.random() < config.speckle_probability:
        looks = float(rng.choice([1.0, 2.0, 4.0, 8.0]))
        db = db + 10.0 * np.log10(rng.gamma(looks, 1.0 / looks, db.shape))
    db = db + rng.normal(0.0, config.noise_db, db.shape)
    if rng.random() < config.blur_probability:
        sigma = rng.uniform(0.5, 1.5)
        filled = np.where(valid, np.power(10.0, db / 10.0), 0.0)
        weight = ndimage.gaussian_filter(valid.astype(np.float64), sigma)
        with np.errstate(divide="ignore", invalid="ignore"):
            db = 10.0 * np.log10(ndimage.gaussian_filter(filled, sigma) / weight)
    db = db.astype(np.float32)
    db[~valid] = np.nan
    return db


def cropout(sample: dict, rng: np.random.Generator) -> dict:
    """Cut a random rectangle out as no-data (image and labels)."""
    height, width = sample["db"].shape
    rows = int(rng.uniform(0.1, 0.4) * height)
    cols = int(rng.uniform(0.1, 0.4) * width)
    top, left = int(rng.integers(0, height - rows + 1)), int(rng.integers(0, width - cols + 1))
    out = {key: value.copy() for key, value in sample.items()}
    area = (slice(top, top + rows), slice(left, left + cols))
    out["db"][area] = np.nan
    out["classes"][area] = NODATA
    out["coast"][area] = 0.0
    return out


def mosaic_cells(height: int, width: int, parts: int, rng: np.random.Generator) -> list[tuple[slice, slice]]:
    """Split a sample into about `parts` rectangles: random cuts on a grid of rows x cols cells."""
    grid_rows = max(1, int(round(np.sqrt(parts))))
    grid_cols = max(1, int(np.ceil(parts / grid_rows)))

    def cuts(length: int, count: int) -> np.ndarray:
        inner = np.sort(rng.integers(length // 8, length - length // 8, count - 1)) if count > 1 else []
        return np.concatenate([[0], inner, [length]]).astype(int)

    row_cuts, col_cuts = cuts(height, grid_rows), cuts(width, grid_cols)
    return [(slice(row_cuts[i], row_cuts[i + 1]), slice(col_cuts[j], col_cuts[j + 1]))
            for i in range(grid_rows) for j in range(grid_cols)]


def mosaic(sample: dict, others: list[dict], parts: int, replace_probability: float,
           rng: np.random.Generator) -> tuple[dict, list[tuple[slice, slice]]]:
    """Multi-sample mosaicing: some rectangles replaced by the same areas of other samples, labels alike.

    Returns the new sample and the rectangles that were replaced.
    """
    out = {key: value.copy() for key, value in sample.items()}
    replaced = []
    if not others:
        return out, replaced
    for cell in mosaic_cells(*sample["db"].shape, parts, rng):
        if rng.random() < replace_probability:
            donor = others[int(rng.integers(len(others)))]
            for key in out:
                out[key][cell] = donor[key][cell]
            replaced.append(cell)
    return out, replaced


def augment(sample: dict, rng: np.random.Generator, config: AugmentConfig, strength: float = 1.0) -> dict:
    """The geometric and intensity augmentations; `strength` in [0, 1] scales how often the rarer ones run."""
    if config.flips:
        sample = flip_rotate(sample, rng)
    if rng.random() < config.affine_probability * strength:
        sample = affine(sample, rng, config.max_rotation_deg, config.scale_range)
    sample = {**sample, "db": intensity(sample["db"], rng, config)}
    if rng.random() < config.cropout_probability * strength:
        sample = cropout(sample, rng)
    return sample
