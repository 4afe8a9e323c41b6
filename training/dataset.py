"""Training crops: random side in the crop range at a random position, read in windows, resized to the model
side, augmented, mosaiced; a curriculum from easy crops (centred on the coast, narrow scale range, no
mosaicing) to the full mix. Deterministic: sample i of epoch e is drawn from seed (seed, e, i).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import InputError
from ..core.inference.inputs import model_input, normalize_db, resize_area, scene_db_percentiles
from ..core.io.scene import Scene, read_padded_db, strip_height_for
from .augment import AugmentConfig, augment, mosaic
from .labels import CLASSES_BAND, COAST, COAST_BAND, NODATA

COAST_SAMPLE = 20000  # coast pixels kept to centre crops on: a sample of the line is enough


@dataclass
class TrainScene:
    """A scene for training: windowed reads of the image and of its label raster (training.labels), no pixels held."""

    scene: Scene
    labels_path: str
    rows: tuple[int, int] = (0, -1)  # the rows crops may be centred in (validation keeps the rest)
    coast_pixels: np.ndarray = field(init=False)
    percentiles: tuple[float, float] = field(init=False)

    def __post_init__(self):
        self.percentiles = scene_db_percentiles(self.scene)
        last = self.scene.height if self.rows[1] < 0 else self.rows[1]
        self.rows = (self.rows[0], last)
        self.coast_pixels = self._coast_sample()

    def read_labels(self, col: int, row: int, width: int, height: int) -> np.ndarray:
        """(classes, coast) of a window inside the scene: uint8 (2, height, width)."""
        from osgeo import gdal

        gdal.UseExceptions()
        try:
            dataset = gdal.Open(self.labels_path)
            return dataset.ReadAsArray(int(col), int(row), int(width), int(height),
                                       band_list=[CLASSES_BAND, COAST_BAND])
        except RuntimeError as error:
            raise InputError(f"Cannot read the training labels '{self.labels_path}': {error}. Delete the file to have "
                             "it made again.") from None

    def _coast_sample(self) -> np.ndarray:
        """(row, col) of every stride-th coast pixel (coast > 200) in row order, read strip by strip; the stride
        doubles whenever more than 2 COAST_SAMPLE are kept, so the sample stays bounded whatever the line length."""
        kept, stride, seen = np.empty((0, 2), np.int64), 1, 0
        strip_height = strip_height_for(self.scene.width)
        for row in range(self.rows[0], self.rows[1], strip_height):
            coast = self.read_labels(0, row, self.scene.width, min(strip_height, self.rows[1] - row))[1]
            rows, cols = np.nonzero(coast > 200)
            taken = (seen + np.arange(len(rows))) % stride == 0
            kept = np.concatenate([kept, np.column_stack([rows[taken] + row, cols[taken]])])
            seen += len(rows)
            while len(kept) > 2 * COAST_SAMPLE:
                kept, stride = kept[::2], 2 * stride
        return kept


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

    top, left = centre_row - side // 2, centre_col - side // 2
    db = read_padded_db(scene.scene, left, top, side)
    if normalization == "scene":
        db = normalize_db(db, scene.percentiles, window)
    db = resize_area(torch.from_numpy(db)[None, None], model_side)[0, 0].numpy()
    centres = top + ((np.arange(model_side) + 0.5) * side / model_side).astype(int)
    columns = left + ((np.arange(model_side) + 0.5) * side / model_side).astype(int)
    classes = np.full((model_side, model_side), NODATA, np.uint8)
    coast_window = np.zeros((side, side), np.float32)
    r0, r1 = max(top, 0), min(top + side, scene.scene.height)
    c0, c1 = max(left, 0), min(left + side, scene.scene.width)
    if r1 > r0 and c1 > c0:
        labels = scene.read_labels(c0, r0, c1 - c0, r1 - r0)
        inside_rows, inside_cols = (centres >= r0) & (centres < r1), (columns >= c0) & (columns < c1)
        classes[np.ix_(inside_rows, inside_cols)] = labels[0][np.ix_(centres[inside_rows] - r0,
                                                                     columns[inside_cols] - c0)]
        coast_window[r0 - top:r1 - top, c0 - left:c1 - left] = labels[1] / 255.0
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
