"""extract(): the one call the Extract coastline algorithm makes (and the command lines, batch, training's
validation and the benchmarks): open the scene, run its method through the method contract, take the sea-only
step, and give every line its attributes."""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..config import ExtractConfig
from ..errors import InputError
from ..hooks import RunHooks, as_hooks
from ..inference.loading import resolve_models
from ..io.readers import open_scene
from ..io.scene import Scene
from ..lines.sea import WATER_CHOICES
from ..lines.vectorize import Coastline
from ..methods import registry
from ..methods.contract import MethodContext

# The attributes of every line extract() gives (kinds: str, real, int), in the order the outputs show them. The
# Extract algorithm's layer and the batch GeoPackage both take their fields from line_fields().
LINE_FIELDS = (("scene", "str"), ("date", "str"), ("method", "str"), ("models", "str"), ("confidence", "real"),
               ("uncertainty_m", "real"), ("length_m", "real"))


def line_fields(attributes: Iterable[Mapping]) -> tuple[tuple[str, str], ...]:
    """LINE_FIELDS, then every other attribute the lines carry (a method's own), its kind from its first value."""
    known, extra = dict(LINE_FIELDS), {}
    for item in attributes:
        for name, value in item.items():
            if name not in known and extra.get(name) is None:
                extra[name] = None if value is None else _kind(value)
    return LINE_FIELDS + tuple((name, kind or "str") for name, kind in extra.items())


def line_values(attributes: Mapping, fields: Iterable[tuple[str, str]]) -> list:
    """The line's values for the fields, as plain Python of their kind (numpy numbers too); None where absent."""
    kinds = {"int": int, "real": float, "str": str}
    return [None if attributes.get(name) is None else kinds[kind](attributes[name]) for name, kind in fields]


def _kind(value) -> str:
    if isinstance(value, bool):  # as the command line's writer (core/io/vectors.py) takes it
        return "str"
    if isinstance(value, numbers.Integral):
        return "int"
    return "real" if isinstance(value, numbers.Real) else "str"


@dataclass
class ExtractResult:
    scene: Scene
    lines: list[Coastline]
    method: str
    seconds: float
    notes: list[str]
    warnings: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # what the run measured, e.g. tiles_with_data


def extract(source: str | os.PathLike | Scene, config: ExtractConfig, hooks: RunHooks | None = None,
            predictor=None) -> ExtractResult:
    """Coastline lines of a SAR raster, in the raster's CRS. Raises InputError or Cancelled; writes nothing
    but the optional probability raster. `predictor` (from `load_predictor`) reuses loaded models across
    scenes; otherwise the config's models (or the bundled default) are loaded when the method first asks."""
    hooks = as_hooks(hooks)
    method = registry.get(config.method)
    if config.water not in WATER_CHOICES:
        raise InputError(f"Unknown WATER '{config.water}'. Choose one of: {', '.join(WATER_CHOICES)}.")
    if config.models and not method.uses_models:
        choices = [f"{index} ({item.name})" for index, item in enumerate(registry.all_methods()) if item.uses_models]
        raise InputError(f"Models were given, but METHOD '{method.name}' uses no model. Choose METHOD "
                         f"{' or '.join(choices)} to run them, or leave MODELS empty.")
    started = time.perf_counter()
    scene = open_scene(source, config.read_options())
    for note in scene.notes:
        hooks.note(note)
    hooks.note(f"{scene.name}: {scene.width} x {scene.height} px, {scene.pixel_size:g} m pixels; "
               f"{scene.describe_interpretation()}.")
    for warning in scene.warnings:
        hooks.warning(warning)
    members = (resolve_models(config.models) if method.uses_models and method.ensemble and predictor is None
               else None)
    if members == []:
        hooks.warning("No model was given and no bundled model is installed: using the classical method.")
        method = registry.get(registry.CLASSICAL)
    context = MethodContext(scene, config, hooks, loaded_predictor=predictor, members=members)
    lines = method.run(context)
    if not context.sea_step_taken:
        lines = context.sea_step(lines)
    for line in lines:
        line.attributes = {"scene": scene.name, "date": scene.acquisition_date, "method": method.name,
                           **line.attributes, "length_m": round(line.length_m, 2)}
    hooks.progress(100)
    seconds = time.perf_counter() - started
    hooks.note(f"{len(lines)} line(s), {sum(line.length_m for line in lines) / 1000:.2f} km in {seconds:.1f} s.")
    return ExtractResult(scene=scene, lines=lines, method=method.name, seconds=seconds, notes=hooks.notes,
                         warnings=hooks.warnings, figures=hooks.figures)
