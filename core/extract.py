"""extract(): the one call the Extract coastline algorithm makes (and the command line, and benchmarks)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import classical
from .errors import Cancelled, InputError
from .infer import InferenceConfig
from .raster import Scene, check_has_data, open_scene
from .vector import Coastline, border_and_nodata_exclusion, contours_to_lines, grid_pieces_to_lines

ORIENTATION_FREE, PAPER, CLASSICAL = "orientation_free", "paper", "classical"
METHODS = (ORIENTATION_FREE, PAPER, CLASSICAL)
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default" / "ensemble.json"


@dataclass(frozen=True)
class ExtractConfig:
    method: str = CLASSICAL  # the most accurate on bench-accuracy today; see docs/benchmarks.md
    models: tuple[str, ...] = ()  # model files and/or ensemble manifests; empty: the bundled default
    band: int | None = None
    min_length_m: float = 60.0
    nodata_margin_px: int = 2
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    classical: classical.ClassicalParams = field(default_factory=classical.ClassicalParams)
    probabilities_path: str | None = None  # optional GeoTIFF of the fused maps


@dataclass
class ExtractResult:
    scene: Scene
    lines: list[Coastline]
    method: str
    seconds: float
    notes: list[str]


class _Run:
    """Progress, cancel and log callables in one place, so core never sees QGIS."""

    def __init__(self, progress, cancel, log):
        self.progress = progress or (lambda percent: None)
        self.cancelled = cancel or (lambda: False)
        self.log = log or (lambda message: None)
        self.notes: list[str] = []

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled()

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.log(message)


def resolve_models(models: Sequence[str]) -> list[tuple[Path, float]]:
    """(model file, weight) pairs from files and manifests; the bundled default when none is given.

    Model files given without a manifest weigh by their validation score (lower score, more weight).
    """
    from ..models.modelfile import read_manifest, read_meta

    if not models:
        return read_manifest(DEFAULT_MODEL) if DEFAULT_MODEL.exists() else []
    members = []
    for model in models:
        if str(model).lower().endswith(".json"):
            members.extend(read_manifest(model))
        else:
            score = read_meta(model).validation_score
            members.append((Path(model), 1.0 / max(score, 1.0) if score else 1.0))
    return members


def extract(source: str | os.PathLike | Scene, config: ExtractConfig,
            progress: Callable[[float], None] | None = None, cancel: Callable[[], bool] | None = None,
            log: Callable[[str], None] | None = None) -> ExtractResult:
    """Coastline lines of a SAR raster, in the raster's CRS. Raises InputError or Cancelled; writes nothing
    but the optional probability raster."""
    if config.method not in METHODS:
        raise InputError(f"Unknown method '{config.method}'. Choose one of: {', '.join(METHODS)}.")
    run = _Run(progress, cancel, log)
    started = time.perf_counter()
    scene = source if isinstance(source, Scene) else open_scene(source, config.band)
    run.note(f"{scene.name}: {scene.width} x {scene.height} px, {scene.pixel_size:g} m pixels; "
             f"{scene.describe_interpretation()}.")
    method = config.method
    members = resolve_models(config.models) if method != CLASSICAL else []
    if method != CLASSICAL and not members:
        run.note("No model was given and no bundled model is installed: using the classical method.")
        method = CLASSICAL
    if method == CLASSICAL:
        valid_share = check_has_data(scene)  # the model path finds out tile by tile, without a pass of its own
        run.progress(2)
        lines = _classical(scene, config, valid_share, run)
    else:
        lines = _with_models(scene, config, method, members, run)
    for line in lines:
        line.attributes = {"scene": scene.name, "date": scene.acquisition_date, "method": method,
                           **line.attributes, "length_m": round(line.length_m, 2)}
    run.progress(100)
    seconds = time.perf_counter() - started
    run.note(f"{len(lines)} line(s), {sum(line.length_m for line in lines) / 1000:.2f} km in {seconds:.1f} s.")
    return ExtractResult(scene=scene, lines=lines, method=method, seconds=seconds, notes=run.notes)


def _classical(scene: Scene, config: ExtractConfig, valid_share: float, run: _Run) -> list[Coastline]:
    from skimage.measure import find_contours

    db = np.empty((scene.height, scene.width), np.float32)
    for row, strip in scene.iter_strips():
        db[row:row + len(strip)] = strip
        run.check_cancel()
    run.progress(20)
    land, threshold = classical.land_field(db, scene.pixel_size, config.classical, run.check_cancel)
    del db
    run.note(f"Otsu threshold {threshold:.1f} dB on {valid_share:.0%} valid pixels.")
    run.progress(60)
    valid = np.isfinite(land)
    contours = find_contours(np.where(valid, land, 0.0), 0.0)
    run.check_cancel()
    run.progress(85)
    excluded = border_and_nodata_exclusion(valid, config.nodata_margin_px)
    coords = contours_to_lines(contours, scene.geotransform, excluded, config.min_length_m)
    run.check_cancel()
    return [Coastline(line, {"models": "", "confidence": None, "uncertainty_m": None}) for line in coords]


def _with_models(scene: Scene, config: ExtractConfig, method: str, members: list[tuple[Path, float]],
                 run: _Run) -> list[Coastline]:
    from ..models.modelfile import load_model
    from .predict import EnsemblePredictor

    loaded = [(load_model(path), weight) for path, weight in members]
    run.note("Models: " + ", ".join(f"{model.path.name} (weight {weight:.3g})" for model, weight in loaded) + ".")
    inference = config.inference
    predictor = EnsemblePredictor(loaded, inference.device, inference.precision, inference.batch_size, run.log)
    sides = inference.scales or sorted({side for model, _weight in loaded
                                        for side in model.meta.scales_for(scene.pixel_size)})
    trained_at = {model.meta.pixel_size_m for model, _weight in loaded} - {None}
    if not inference.scales and trained_at and trained_at != {scene.pixel_size}:
        run.note(f"The models were trained on {', '.join(f'{size:g}' for size in sorted(trained_at))} m pixels and "
                 f"this scene has {scene.pixel_size:g} m: crop sides follow the ground resolution.")
    return run_models(scene, config, method, predictor, sides, run)


def run_models(scene: Scene, config: ExtractConfig, method: str, predictor, sides: Sequence[int],
               run: _Run) -> list[Coastline]:
    """Tiled inference with a ready predictor, then the chosen coastline rule, then vector lines."""
    from .coastline import OrientationFree, PaperRules
    from .infer import stream_probabilities

    inference = config.inference
    stride = inference.stride
    grid_width, grid_height = -(-scene.width // stride), -(-scene.height // stride)
    valid_channel = predictor.channels
    if method == ORIENTATION_FREE:
        if not predictor.has_land:
            raise InputError("The orientation-free method needs at least one sea/land (softmax) model; these are "
                             "coast-only models. Choose the paper method.")
        rule = OrientationFree(predictor.land_channel, predictor.land_sq_channel,
                               predictor.coast_channel if predictor.has_coast else None, valid_channel,
                               grid_width, grid_height)
    else:
        rule = PaperRules(predictor.members, grid_width, grid_height, valid_channel)
    run.note(f"Scales (crop sides) {list(sides)} px, overlap {inference.overlap:g}, map stride {stride} px.")

    keep_mask = _KeepMask(config.nodata_margin_px, stride, grid_width, grid_height)
    writer = _probability_writer(config.probabilities_path, scene, stride, predictor)
    try:
        for first, strip in stream_probabilities(scene, predictor, inference, sides,
                                                 lambda share: run.progress(2 + 88 * share), run.check_cancel):
            rule.add(first, strip)
            keep_mask.add(strip[valid_channel])
            if writer is not None:
                writer.write(first, strip)
        run.check_cancel()
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    pieces = rule.finish()
    keep = [keep_mask.sample(piece.xy) for piece in pieces]
    cell_m = stride * scene.pixel_size
    names = ", ".join(Path(member.name).stem for member in predictor.members)
    lines = []
    for index, coords, kept in grid_pieces_to_lines(pieces, keep, stride, scene.geotransform, config.min_length_m):
        piece = pieces[index]
        lines.append(Coastline(coords, {
            "models": names,
            "confidence": round(float(np.mean(piece.confidence[kept])), 3),
            "uncertainty_m": round(float(np.median(piece.spread[kept])) * cell_m, 2)}))
    return lines


class _KeepMask:
    """Which merge-grid cells may carry a coastline: not within a margin of no-data or the scene border.

    Kept as packed bits strip by strip: an eighth of a byte per cell, whatever the scene size.
    """

    def __init__(self, margin_px: int, stride: int, grid_width: int, grid_height: int):
        self.margin = max(1, -(-margin_px // stride))
        self.width, self.height = grid_width, grid_height
        self.rows: list[np.ndarray] = []

    def add(self, valid_share: np.ndarray) -> None:
        from scipy import ndimage

        # Cells mostly of data count: isolated no-data pixels (dead pixels) do not cut lines.
        usable = ndimage.minimum_filter(np.nan_to_num(valid_share) > 0.5, size=2 * self.margin + 1, mode="nearest")
        usable[:, :self.margin] = usable[:, -self.margin:] = False
        first = sum(len(rows) for rows in self.rows)
        usable[:max(0, self.margin - first)] = False
        last = first + len(usable)
        if last > self.height - self.margin:
            usable[max(0, self.height - self.margin - first):] = False
        self.rows.append(np.packbits(usable, axis=1))

    def sample(self, xy: np.ndarray) -> np.ndarray:
        if len(self.rows) > 1:
            self.rows = [np.concatenate(self.rows)]  # once, after the last strip
        packed = self.rows[0]
        rows = np.clip(np.floor(xy[:, 1]).astype(int), 0, self.height - 1)
        cols = np.clip(np.floor(xy[:, 0]).astype(int), 0, self.width - 1)
        return (packed[rows, cols >> 3] >> (7 - (cols & 7)) & 1).astype(bool)


def _probability_writer(path: str | None, scene: Scene, stride: int, predictor):
    if not path:
        return None
    from .raster import ProbabilityWriter

    bands = {}
    if predictor.has_land:
        bands["land"] = predictor.land_channel
    if predictor.has_coast:
        bands["coast"] = predictor.coast_channel
    return ProbabilityWriter(path, scene, stride, bands)
