"""extract(): the one call the Extract coastline algorithm makes (and the command lines, training's validation,
and benchmarks)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import classical, methods
from .errors import InputError
from .hooks import RunHooks, as_hooks
from .infer import InferenceConfig
from .raster import Scene
from .readers import ReadOptions, open_scene
from .vector import Coastline, KeepMask, pieces_to_lines

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default" / "ensemble.json"


@dataclass(frozen=True)
class ExtractConfig:
    method: str = methods.DEFAULT_METHOD
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
    warnings: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # what the run measured, e.g. tiles_with_data


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


def load_predictor(members: Sequence[tuple[Path, float]], inference: InferenceConfig, hooks: RunHooks | None = None):
    """An EnsemblePredictor over model files: load once, then run it on any number of scenes."""
    from ..models.modelfile import load_model
    from .predict import EnsemblePredictor

    hooks = as_hooks(hooks)
    loaded = [(load_model(path), weight) for path, weight in members]
    hooks.note("Models: " + ", ".join(f"{model.path.name} (weight {weight:.3g})" for model, weight in loaded) + ".")
    return EnsemblePredictor(loaded, inference.device, inference.precision, inference.batch_size, hooks.log)


def model_sides(metas: Sequence, pixel_size: float, inference: InferenceConfig) -> list[int]:
    """The crop sides a run reads: the configured scales, else the models' own, scaled to the ground resolution."""
    if inference.scales:
        return sorted(set(inference.scales))
    return sorted({side for meta in metas for side in meta.scales_for(pixel_size)})


def extract(source: str | os.PathLike | Scene, config: ExtractConfig, hooks: RunHooks | None = None,
            predictor=None) -> ExtractResult:
    """Coastline lines of a SAR raster, in the raster's CRS. Raises InputError or Cancelled; writes nothing
    but the optional probability raster. `predictor` (from `load_predictor`) reuses loaded models across
    scenes; otherwise the config's models (or the bundled default) are loaded."""
    hooks = as_hooks(hooks)
    method = methods.get(config.method)
    if config.models and not method.needs_models:
        model_methods = [f"{index} ({item.name})" for index, item in enumerate(methods.all_methods())
                         if item.needs_models]
        raise InputError(f"Models were given, but METHOD '{method.name}' uses no model. Choose METHOD "
                         f"{' or '.join(model_methods)} to run them, or leave MODELS empty.")
    started = time.perf_counter()
    scene = open_scene(source, ReadOptions(band=config.band))
    hooks.note(f"{scene.name}: {scene.width} x {scene.height} px, {scene.pixel_size:g} m pixels; "
               f"{scene.describe_interpretation()}.")
    if method.needs_models and predictor is None:
        members = resolve_models(config.models)
        if members:
            predictor = load_predictor(members, config.inference, hooks)
        else:
            hooks.warning("No model was given and no bundled model is installed: using the classical method.")
            method = methods.get(methods.CLASSICAL)
    if method.needs_models:
        sides = model_sides(predictor.metas, scene.pixel_size, config.inference)
        trained_at = {meta.pixel_size_m for meta in predictor.metas} - {None}
        if not config.inference.scales and trained_at and trained_at != {scene.pixel_size}:
            hooks.note(f"The models were trained on {', '.join(f'{size:g}' for size in sorted(trained_at))} m pixels "
                       f"and this scene has {scene.pixel_size:g} m: crop sides follow the ground resolution.")
        lines = run_models(scene, config, method.name, predictor, sides, hooks)
    else:
        lines = method.lines(scene, config, hooks)
    for line in lines:
        line.attributes = {"scene": scene.name, "date": scene.acquisition_date, "method": method.name,
                           **line.attributes, "length_m": round(line.length_m, 2)}
    hooks.progress(100)
    seconds = time.perf_counter() - started
    hooks.note(f"{len(lines)} line(s), {sum(line.length_m for line in lines) / 1000:.2f} km in {seconds:.1f} s.")
    return ExtractResult(scene=scene, lines=lines, method=method.name, seconds=seconds, notes=hooks.notes,
                         warnings=hooks.warnings, figures=hooks.figures)


def run_models(scene: Scene, config: ExtractConfig, method: str, predictor, sides: Sequence[int],
               hooks: RunHooks) -> list[Coastline]:
    """Tiled inference with a ready predictor, then the method's coastline rule, then vector lines."""
    from .infer import merged_channels, stream_probabilities
    from .predict import VALID

    inference = config.inference
    stride = inference.stride
    grid_width, grid_height = -(-scene.width // stride), -(-scene.height // stride)
    channels = merged_channels(predictor)
    rule = methods.get(method).rule(predictor, channels, grid_width, grid_height)
    hooks.note(f"Scales (crop sides) {list(sides)} px, overlap {inference.overlap:g}, map stride {stride} px.")

    keep_mask = KeepMask(config.nodata_margin_px, stride, grid_width, grid_height)
    writer = _probability_writer(config.probabilities_path, scene, stride, predictor, channels)
    try:
        for first, strip in stream_probabilities(scene, predictor, inference, sides,
                                                 lambda share: hooks.progress(2 + 88 * share), hooks.check_cancel,
                                                 hooks.figures):
            rule.add(first, strip)
            keep_mask.add(strip[channels[VALID]])
            if writer is not None:
                writer.write(first, strip)
        hooks.check_cancel()
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
    for index, coords, kept in pieces_to_lines(pieces, keep, stride, scene.geotransform, config.min_length_m):
        piece = pieces[index]
        lines.append(Coastline(coords, {
            "models": names,
            "confidence": round(float(np.mean(piece.confidence[kept])), 3),
            "uncertainty_m": round(float(np.median(piece.spread[kept])) * cell_m, 2)}))
    return lines


def _probability_writer(path: str | None, scene: Scene, stride: int, predictor, channels):
    if not path:
        return None
    from .predict import COAST, LAND
    from .raster import ProbabilityWriter

    bands = {}
    if predictor.has_land:
        bands["land"] = channels[LAND]
    if predictor.has_coast:
        bands["coast"] = channels[COAST]
    return ProbabilityWriter(path, scene, stride, bands)
