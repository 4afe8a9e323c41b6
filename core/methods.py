"""The coastline methods, as a registry: Extract, the command line, the Processing enum and training read it.

A method is either model-free (it reads the scene itself and returns lines: `lines`) or runs on the models'
merged map (`rule`: a factory of a streaming rule fed strip by strip, `add(first_row, strip)` then
`finish() -> pieces`). See docs/extending.md for how to add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import InputError

ORIENTATION_FREE, PAPER, CLASSICAL = "orientation_free", "paper", "classical"
DEFAULT_METHOD = CLASSICAL  # the most accurate on bench-accuracy today; see docs/benchmarks.md


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # shown in the Processing dialog
    help: str  # one sentence for the help text
    needs_models: bool
    # Model methods: (predictor, merged-map channels, grid width, grid height) -> streaming rule.
    rule: Callable | None = None
    # Model-free methods: (scene, ExtractConfig, RunHooks, sea.WaterMap on scene pixels) -> list of
    # vector.Coastline; they feed the water map so the sea-only step and the land side work for them too.
    lines: Callable | None = None


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method; its position in the registry is its Processing enum value, so only append."""
    if method.name in _REGISTRY:
        raise ValueError(f"A coastline method named '{method.name}' is already registered.")
    if (method.rule is None) == (method.lines is None):
        raise ValueError(f"Method '{method.name}' needs exactly one of `rule` (model methods) or `lines`.")
    if method.needs_models != (method.rule is not None):
        raise ValueError(f"Method '{method.name}': model methods give a rule, model-free methods give lines.")
    _REGISTRY[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method (a plugin that added one, on unload)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Method:
    if name not in _REGISTRY:
        raise InputError(f"Unknown method '{name}'. Choose one of: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def all_methods() -> tuple[Method, ...]:
    return tuple(_REGISTRY.values())


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def _orientation_free(predictor, channels, grid_width: int, grid_height: int):
    from .coastline import OrientationFree

    if not predictor.has_land:
        raise InputError("The orientation-free method needs at least one sea/land (softmax) model; these are "
                         "coast-only models. Choose the paper method.")
    return OrientationFree(channels, predictor.has_coast, grid_width, grid_height)


def _paper(predictor, channels, grid_width: int, grid_height: int):
    from .coastline import PaperRules

    return PaperRules(predictor.members, channels, grid_width, grid_height)


def _classical_lines(scene, config, hooks, water):
    from .classical import extract_lines

    return extract_lines(scene, config.classical, config.min_length_m, config.nodata_margin_px, hooks, water=water)


register(Method(ORIENTATION_FREE, "Orientation-free (models: sub-pixel contour of the fused sea/land map, any "
                "direction)", "Contour of the models' fused sea/land map, placed on the coast models' ridge "
                "(islands, bays, any direction).", needs_models=True, rule=_orientation_free))
register(Method(PAPER, "Paper (models: per-column/row rules and ensemble of Hurtik & Vajgl 2021)",
                "The per-column (landscape) or per-row (portrait) rules and ensemble of the reference paper.",
                needs_models=True, rule=_paper))
register(Method(CLASSICAL, "Classical (model-free: calibrated dB, despeckle, Otsu, sub-pixel contour)",
                "Model-free: calibrated dB, despeckle, Otsu threshold, clean-up, sub-pixel contour.",
                needs_models=False, lines=_classical_lines))
