"""extract(): the one call the Extract coastline algorithm makes (and the command lines, batch, training's
validation and the benchmarks): open the scene, run its method through the method contract, take the sea-only
step, and give every line its attributes."""

from __future__ import annotations

import os
import time
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
    if method.uses_models and predictor is None and not resolve_models(config.models):
        hooks.warning("No model was given and no bundled model is installed: using the classical method.")
        method = registry.get(registry.CLASSICAL)
    context = MethodContext(scene, config, hooks, loaded_predictor=predictor)
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
