"""The coastline methods, as a registry: the only list of them. Extract, batch, the command lines, the
Processing enum, training's validation and the benchmarks read it.

A method is one module with a `Method` (core/methods/contract.py) and one line here; a plugin or a test adds
its own with `register`. See docs/extending.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError
from . import classical, coarse_to_fine, orientation_free, paper
from .contract import Method

ORIENTATION_FREE, PAPER, CLASSICAL = orientation_free.NAME, paper.NAME, classical.NAME
COARSE_TO_FINE = coarse_to_fine.NAME

_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method; its position in the registry is its Processing enum value, so only append."""
    if method.name in _REGISTRY:
        raise ValueError(f"A coastline method named '{method.name}' is already registered.")
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


def method_for_models(metas: Sequence) -> Method:
    """The first registered model method that runs these models (training validates a model with it)."""
    reasons = []
    for method in _REGISTRY.values():
        if method.uses_models and method.ensemble:
            reason = method.accepts(metas)
            if reason is None:
                return method
            reasons.append(reason)
    raise InputError("No registered method runs these models: " + "; ".join(reasons) + ".")


# Processing enum values 0-3: only append.
for _method in (orientation_free.METHOD, paper.METHOD, classical.METHOD, coarse_to_fine.METHOD):
    register(_method)
