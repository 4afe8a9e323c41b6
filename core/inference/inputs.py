"""What a model reads: dB normalised per scene, the input transforms, windows resized to the model side."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..io.scene import CF_DB, DB_WINDOW, Scene


def scene_db_percentiles(scene: Scene, rows: int = 256) -> tuple[float, float]:
    """The 2nd and 98th percentiles of valid dB, from up to `rows` evenly spaced rows of the scene."""
    picked = np.unique(np.linspace(0, scene.height - 1, min(rows, scene.height)).astype(int))
    values = np.concatenate([scene.read_db(0, int(row), scene.width, 1).ravel() for row in picked])
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise InputError(f"'{scene.name}' holds only no-data pixels.")
    low, high = np.percentile(values, [2, 98])
    return float(low), float(max(high, low + 1.0))


def normalize_db(db, percentiles: tuple[float, float], window: tuple[float, float] = DB_WINDOW):
    """Map a scene's dB percentiles onto the dB window: scenes of any gain and contrast look alike."""
    low, high = percentiles
    return window[0] + (db - low) * (window[1] - window[0]) / (high - low)


def model_input(db: np.ndarray, transform: str, db_window: tuple[float, float]):
    """A dB tensor (NaN = no data) to a model's input in [0, 1], no-data as 0, as in training."""
    import torch

    if transform == "log":
        low, high = db_window
        scaled = (db - low) / (high - low)
    else:  # linear: DN / 65535, DN recovered from calibrated dB
        scaled = torch.pow(10.0, (db - CF_DB) / 20.0) / 65535.0
    return torch.nan_to_num(scaled.clamp(0.0, 1.0), nan=0.0)


def resize_area(batch, side: int):
    """NaN-aware resize of (B, 1, S, S) to (B, 1, side, side): an area mean when shrinking, bilinear when
    enlarging (a scene coarser than the training data); no-data does not bleed into valid pixels."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    if batch.shape[-1] == side:
        return batch
    shrinking = batch.shape[-1] > side

    def resize(values):
        if shrinking:
            return F.adaptive_avg_pool2d(values, side)
        return F.interpolate(values, size=(side, side), mode="bilinear", align_corners=False)

    finite = torch.isfinite(batch)
    if finite.all():  # the common case
        return resize(batch)
    summed = resize(torch.nan_to_num(batch, nan=0.0))
    fraction = resize(finite.to(batch.dtype))
    return torch.where(fraction > 0.5, summed / fraction.clamp_min(1e-6), torch.full_like(summed, float("nan")))
