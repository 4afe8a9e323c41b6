"""Training crops: random side in the crop range at a random position, read in windows, resized to the model
side, augmented, mosaiced; a curriculum from easy crops (centred on the coast, narrow scale range, no
mosaicing) to the full mix. Deterministic: sample i of epoch e is drawn from seed (seed, e, i).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.raster import Scene, normalize_db, read_padded_db
from .augment import AugmentConfig, augment, mosaic
from .labels import COAST, NODATA


@dataclass
class TrainScene:
    """A scene for training: windowed reads of the image, its labels held as uint8 (1/4 of float32)."""

    scene: Scene
    classes: np.ndarray  # uint8 (H, W)
    coast: np.ndarray  # uint8 (H, W), 0..255
    rows: tuple[int, int] = (0, -1)  # the rows crops may be centred in (validation keeps the rest)
    coast_pixels: np.ndarray = field(init=False)
    percentiles: tuple[float, float] = field(init=False)

    def __post_init__(self):
        from ..core.raster import scene_db_percentiles

        self.percentiles = scene_db_percentiles(self.scene)
        last = self.scene.height if self.rows[1] < 0 else self.rows[1]
        self.rows = (self.rows[0], last)
        band = self.coast[self.rows[0]:last]
        rows, cols = np.nonzero(band > 200)
        step = max(1, len(rows) // 20000)  # a sample of the line is enough to centre crops on it
        self.coast_pixels = np.column_stack([rows[::step] + self.rows[0], cols[::step]])


@dataclass(frozen=True)
class CropConfig:
    model_side: int = 512
    crop_range: tuple[int, int] = (1024, 1536)
    mosaic_parts: int = 4
    mosaic_probability: float = 0.5  # chance a sample is mosaiced (at full curriculum)
    mosaic_replace: float = 0.5  # chance each rectangle of a mosaiced sample is replaced
    coast_centred: float = 0.7  # share of coast-centred crops at the start of the curriculum
    curriculum_epochs: int = 10  # epochs to reach the full mix
    normalization: str = "fixed"  # "scene": each scene's dB percentiles mapped onto the window (see raster)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def curriculum(epoch: int, config: CropConfig) -> float:
    """0 at the first epoch, 1 from `curriculum_epochs` on."""
    return min(1.0, epoch / max(1, config.curriculum_epochs))


def read_crop(scene: TrainScene, centre_row: int, centre_col: int, side: int, model_side: int,
              normalization: str = "fixed", window: tuple[float, float] = (-30.0, 5.0)) -> dict:
    """A side x side window around a centre, resized to the model side: image by NaN-aware area mean,
    classes by the class at each output pixel's centre, coast by the maximum (keeps the thin line)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from ..core.predict import resize_area

    top, left = centre_row - side // 2, centre_col - side // 2
    db = read_padded_db(scene.scene, left, top, side)
    if normalization == "scene":
        db = normalize_db(db, scene.percentiles, window)
    db = resize_area(torch.from_numpy(db)[None, None], model_side)[0, 0].numpy()
    centres = top + ((np.arange(model_side) + 0.5) * side / model_side).astype(int)
    columns = left + ((np.arange(model_side) + 0.5) * side / model_side).astype(int)
    inside_rows = (centres >= 0) & (centres < scene.classes.shape[0])
    inside_cols = (columns >= 0) & (columns < scene.classes.shape[1])
    classes = np.full((model_side, model_side), NODATA, np.uint8)
    classes[np.ix_(inside_rows, inside_cols)] = scene.classes[np.ix_(centres[inside_rows], columns[inside_cols])]
    coast_window = np.zeros((side, side), np.float32)
    r0, r1 = max(top, 0), min(top + side, scene.coast.shape[0])
    c0, c1 = max(left, 0), min(left + side, scene.coast.shape[1])
    if r1 > r0 and c1 > c0:
        coast_window[r0 - top:r1 - top, c0 - left:c1 - left] = scene.coast[r0:r1, c0:c1] / 255.0
    coast = F.adaptive_max_pool2d(torch.from_numpy(coast_window)[None, None], model_side)[0, 0].numpy()
    classes[~np.isfinite(db)] = NODATA
    return {"db": db.astype(np.float32), "classes": classes, "coast": coast}


class CropSampler:
    """Draws augmented training samples from scenes; `sample(epoch, index)` is deterministic."""

    def __init__(self, scenes: list[TrainScene], config: CropConfig, seed: int = 0):
        if not scenes:
            raise ValueError("no training scenes")
        self.scenes = scenes
        self.config = config
        self.seed = seed

    def _raw(self, rng: np.random.Generator, progress: float) -> dict:
        config = self.config
        scene = self.scenes[int(rng.integers(len(self.scenes)))]
        low, high = config.crop_range
        middle, half = (low + high) / 2, (high - low) / 2 * (0.3 + 0.7 * progress)
        side = int(rng.uniform(middle - half, middle + half + 1))
        centred = rng.random() < config.coast_centred * (1.0 - 0.5 * progress) and len(scene.coast_pixels)
        if centred:
            row, col = scene.coast_pixels[int(rng.integers(len(scene.coast_pixels)))]
            jitter = side // 4
            row, col = row + int(rng.integers(-jitter, jitter + 1)), col + int(rng.integers(-jitter, jitter + 1))
        else:
            row = int(rng.integers(scene.rows[0], scene.rows[1]))
            col = int(rng.integers(0, scene.scene.width))
        return read_crop(scene, row, col, side, config.model_side, config.normalization, config.augment.db_window)

    def sample(self, epoch: int, index: int) -> dict:
        rng = np.random.default_rng([self.seed, epoch, index])
        progress = curriculum(epoch, self.config)
        sample = augment(self._raw(rng, progress), rng, self.config.augment, strength=progress)
        if self.config.mosaic_parts > 1 and rng.random() < self.config.mosaic_probability * progress:
            others = [augment(self._raw(rng, progress), rng, self.config.augment, strength=progress)]
            sample, _cells = mosaic(sample, others, self.config.mosaic_parts, self.config.mosaic_replace, rng)
        return sample


def to_tensors(samples: list[dict], head: str, transform: str, db_window: tuple[float, float]):
    """A batch: model input (B, 1, S, S) and the target of the head (classes, or coast for sigmoid)."""
    import torch

    from ..core.predict import model_input

    db = torch.from_numpy(np.stack([sample["db"] for sample in samples]))[:, None]
    inputs = model_input(db, transform, db_window)
    if head == "sigmoid":
        target = torch.from_numpy(np.stack([sample["coast"] for sample in samples]))[:, None]
    else:
        classes = np.stack([sample["classes"] for sample in samples]).astype(np.int64)
        if head == "softmax_coast":
            coast = np.stack([sample["coast"] for sample in samples])
            classes[(coast > 0.5) & (classes != NODATA)] = COAST
        target = torch.from_numpy(classes)
    return inputs, target
