"""extract(): the one call the Extract coastline algorithm makes (and the command lines, training's validation,
and benchmarks)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import classical, methods
from .errors import InputError
from .hooks import RunHooks, as_hooks
from .infer import InferenceConfig, with_map_stride
from .raster import Scene
from .readers import ReadOptions, open_scene
from .refine import snap_to_edge
from .sea import SEA_ONLY, WATER_CHOICES, SeaRule, WaterMap
from .vector import Coastline, KeepMask, pieces_to_lines

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default" / "ensemble.json"


@dataclass(frozen=True)
class ExtractConfig:
    method: str = methods.DEFAULT_METHOD
    models: tuple[str, ...] = ()  # model files and/or ensemble manifests; empty: the bundled default
    band: int | None = None
    scale: str | None = None  # a core.scale SCALE choice; None: detected
    calibration_db: float | None = None  # amplitude DN calibration factor; None: the sensor's own (-83 dB PALSAR-2)
    polarisation: str | None = None  # products with several (Sentinel-1 SAFE); None: the clearer one
    output_crs: str = ""  # CRS of the lines (WKT or 'EPSG:n'); empty: the raster's own, or the local UTM zone
    min_length_m: float = 60.0
    nodata_margin_px: int = 2
    edge_snap_px: float = 4.0  # model methods: how far a line may move onto the image's water/land edge; 0: off
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    classical: classical.ClassicalParams = field(default_factory=classical.ClassicalParams)
    probabilities_path: str | None = None  # optional GeoTIFF of the fused maps
    water: str = SEA_ONLY  # SEA_ONLY: the sea's coast (islands kept, lakes and ponds left out); ALL_WATER: every shore
    sea: SeaRule = field(default_factory=SeaRule)
    reference_lines: tuple = ()  # optional lines (N, 2); lines farther than the distance are cut
    reference_crs_wkt: str = ""  # the reference lines' CRS; empty: the scene's
    reference_distance_m: float = 250.0

    def read_options(self) -> ReadOptions:
        return ReadOptions(band=self.band, calibration_db=self.calibration_db, scale=self.scale,
                           output_crs=self.output_crs, polarisation=self.polarisation)


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
    if config.water not in WATER_CHOICES:
        raise InputError(f"Unknown WATER '{config.water}'. Choose one of: {', '.join(WATER_CHOICES)}.")
    if config.models and not method.needs_models:
        model_methods = [f"{index} ({item.name})" for index, item in enumerate(methods.all_methods())
                         if item.needs_models]
        raise InputError(f"Models were given, but METHOD '{method.name}' uses no model. Choose METHOD "
                         f"{' or '.join(model_methods)} to run them, or leave MODELS empty.")
    started = time.perf_counter()
    scene = open_scene(source, config.read_options())
    for note in scene.notes:
        hooks.note(note)
    hooks.note(f"{scene.name}: {scene.width} x {scene.height} px, {scene.pixel_size:g} m pixels; "
               f"{scene.describe_interpretation()}.")
    for warning in scene.warnings:
        hooks.warning(warning)
    if method.needs_models and predictor is None:
        members = resolve_models(config.models)
        if members:
            predictor = load_predictor(members, config.inference, hooks)
        else:
            hooks.warning("No model was given and no bundled model is installed: using the classical method.")
            method = methods.get(methods.CLASSICAL)
    if method.needs_models:
        sides = model_sides(predictor.metas, scene.pixel_size, config.inference)
        trained = {meta.trained_pixel_sizes() for meta in predictor.metas} - {None}
        if not config.inference.scales and trained:
            ranges = ", ".join(f"{low:g}" if low == high else f"{low:g}-{high:g}" for low, high in sorted(trained))
            inside = all(low <= scene.pixel_size <= high for low, high in trained)
            hooks.note(f"The models were trained on {ranges} m pixels and this scene has {scene.pixel_size:g} m: "
                       + ("read at the models' own crop sides" if inside else "crop sides follow the ground resolution")
                       + f" ({', '.join(map(str, sides))} px).")
        config = replace(config, inference=with_map_stride(config.inference, sides, predictor.model_side))
        water = WaterMap(scene, config.inference.stride, config.sea) if predictor.has_land else None
        lines = run_models(scene, config, method.name, predictor, sides, hooks, water)
    else:
        water = WaterMap(scene, 1, config.sea)
        lines = method.lines(scene, config, hooks, water)
    lines = sea_and_land_side(lines, water, config, scene.crs_wkt, hooks)
    if method.needs_models and config.edge_snap_px > 0 and water is not None and water.fed:  # land on the left
        lines = snap_to_edge(scene, lines, config.edge_snap_px, hooks)
    for line in lines:
        line.attributes = {"scene": scene.name, "date": scene.acquisition_date, "method": method.name,
                           **line.attributes, "length_m": round(line.length_m, 2)}
    hooks.progress(100)
    seconds = time.perf_counter() - started
    hooks.note(f"{len(lines)} line(s), {sum(line.length_m for line in lines) / 1000:.2f} km in {seconds:.1f} s.")
    return ExtractResult(scene=scene, lines=lines, method=method.name, seconds=seconds, notes=hooks.notes,
                         warnings=hooks.warnings, figures=hooks.figures)


def sea_and_land_side(lines: list[Coastline], water: WaterMap | None, config: ExtractConfig, crs_wkt: str,
                      hooks: RunHooks) -> list[Coastline]:
    """The sea-only step (when asked), the reference-coastline distance (when given), and land on the left."""
    if water is None or not water.fed:
        hooks.warning("This run has no sea/land map (coast-only models, or a method that gives none): every water "
                      "boundary is kept and the lines' direction does not say which side is land.")
        return near_reference(lines, config, crs_wkt)
    figures = water.decide()
    hooks.figures.update(figures)
    if config.water == SEA_ONLY:
        before = sum(line.length_m for line in lines)
        lines = water.sea_coast(lines, config.min_length_m)
        after = sum(line.length_m for line in lines)
        hooks.note(f"Sea only: {figures['inland_water_bodies']} inland water body(ies) and "
                   f"{figures['sea_patches_as_sea']} bright patch(es) of sea left out; {after / 1000:.2f} of "
                   f"{before / 1000:.2f} km of water boundary is sea coast (WATER 1 keeps every shore).")
    return water.land_on_left(near_reference(lines, config, crs_wkt))


def near_reference(lines: list[Coastline], config: ExtractConfig, crs_wkt: str = "") -> list[Coastline]:
    """The parts of `lines` within the reference distance of the reference coastline, when one is given."""
    if not config.reference_lines:
        return lines
    import shapely

    from .vector import reproject

    reference = reproject(config.reference_lines, config.reference_crs_wkt, crs_wkt)
    zone = shapely.union_all([shapely.LineString(line) for line in reference if len(line) >= 2])
    zone = zone.buffer(config.reference_distance_m)
    shapely.prepare(zone)
    kept = []
    for line in lines:
        part = shapely.intersection(shapely.LineString(line.coords), zone)
        for geometry in getattr(part, "geoms", [part]):
            if geometry.geom_type == "LineString" and geometry.length >= config.min_length_m:
                kept.append(Coastline(shapely.get_coordinates(geometry), dict(line.attributes)))
    return kept


def run_models(scene: Scene, config: ExtractConfig, method: str, predictor, sides: Sequence[int],
               hooks: RunHooks, water: WaterMap | None = None) -> list[Coastline]:
    """Tiled inference with a ready predictor, then the method's coastline rule, then vector lines; `water` is
    fed the sea/land map for the sea-only step."""
    from .infer import merged_channels, stream_probabilities
    from .predict import LAND, VALID

    inference = with_map_stride(config.inference, sides, predictor.model_side)
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
            if water is not None:
                valid = strip[channels[VALID]] > 0.5
                water.add(first, valid & (strip[channels[LAND]] < 0.5), valid)
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
