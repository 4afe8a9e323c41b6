"""Model files for a run: resolved from files and manifests (or the bundled default), loaded into one
predictor, and the crop sides a scene is read at."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ...models.modelfile import load_model, read_manifest, read_meta
from ..config import InferenceConfig
from ..hooks import RunHooks, as_hooks
from .predict import EnsemblePredictor

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "default" / "ensemble.json"
DEFAULT_CONTEXT_MODEL = DEFAULT_MODEL.with_name("context.safetensors")  # the coarse-to-fine method's


def resolve_models(models: Sequence[str]) -> list[tuple[Path, float]]:
    """(model file, weight) pairs from files and manifests; the bundled default when none is given.

    Model files given without a manifest weigh by their validation score (lower score, more weight).
    """
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
    hooks = as_hooks(hooks)
    loaded = [(load_model(path), weight) for path, weight in members]
    hooks.note("Models: " + ", ".join(f"{model.path.name} (weight {weight:.3g})" for model, weight in loaded) + ".")
    return EnsemblePredictor(loaded, inference.device, inference.precision, inference.batch_size, hooks.log)


def model_sides(metas: Sequence, pixel_size: float, inference: InferenceConfig) -> list[int]:
    """The crop sides a run reads: the configured scales, else the models' own, scaled to the ground resolution."""
    if inference.scales:
        return sorted(set(inference.scales))
    return sorted({side for meta in metas for side in meta.scales_for(pixel_size)})
