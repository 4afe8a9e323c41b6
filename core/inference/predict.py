"""The batched predictor over an ensemble of models.

Device `auto` takes CUDA when torch sees it; CUDA runs under bf16/fp16 autocast with channels_last; CUDA
out-of-memory halves the batch and goes on. The predictor returns, per tile, every member's class
probabilities plus the fused fields the coastline rules need (see CHANNEL_* below)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import CoastlineError, InputError
from .inputs import model_input, normalize_db, scene_db_percentiles

DEVICES = ("auto", "cpu", "cuda")


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


LAND, LAND_VARIANCE, COAST, VALID = "land", "land_variance", "coast", "valid"  # fused channels of the map


@dataclass(frozen=True)
class MapChannels:
    """Names of a map's channels, in order: rules look channels up by name, never by position."""

    names: tuple[str, ...]

    def __getitem__(self, name: str) -> int:
        if name not in self.names:
            raise KeyError(f"The map has no channel '{name}' (it has {', '.join(self.names)}).")
        return self.names.index(name)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)

    def plus(self, *names: str) -> MapChannels:
        return MapChannels(self.names + names)


@dataclass(frozen=True)
class MemberChannels:
    """One ensemble member: its head, classes and weight; `key(class)` names its channel in the map."""

    name: str
    head: str
    classes: tuple[str, ...]
    weight: float
    index: int

    def key(self, class_name: str) -> str:
        return f"member{self.index}:{class_name}"


@dataclass
class ScenePass:
    """What a predictor needs per scene, held by the caller: one predictor can serve several scenes at once."""

    batch_size: int  # lowered after a GPU out-of-memory, for the rest of this scene
    percentiles: tuple[float, float] | None = None  # the scene's dB percentiles, for "scene" normalization


def pick_device(requested: str, log: Callable[[str], None]) -> str:
    import torch

    if requested not in DEVICES:
        raise InputError(f"Unknown device '{requested}'. Choose one of: {', '.join(DEVICES)}.")
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        log(f"Running on the GPU: {torch.cuda.get_device_name(0)}.")
        return "cuda"
    if requested == "cuda":
        log("CUDA was asked for, but torch sees no GPU (no NVIDIA driver, or a CPU-only torch): running on the CPU.")
    else:
        log("No GPU seen by torch: running on the CPU.")
    return "cpu"


def pick_precision(requested: str, device: str) -> str:
    import torch

    if requested not in PRECISIONS:
        raise InputError(f"Unknown precision '{requested}'. Choose one of: {', '.join(PRECISIONS)}.")
    if device == "cpu":
        return "fp32"  # autocast on CPU is slower than fp32 for these networks
    if requested == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return requested


class EnsemblePredictor:
    """Runs every member on a batch of dB windows and returns probabilities plus fused fields.

    Output channels (`channels`, by name): each member's classes (`MemberChannels.key`), then LAND (weighted
    mean over softmax members of P(land) / (P(land) + P(sea))), LAND_VARIANCE (the same of its square;
    `variance_from_moments` turns the merged moments into the variance of LAND over members, tiles and
    scales), COAST (weighted mean coast probability of the members that have a coast output).
    """

    def __init__(self, members: Sequence[tuple[object, float]], device: str = "auto", precision: str = "auto",
                 batch_size: int | None = None, log: Callable[[str], None] = lambda message: None):
        import torch

        if not members:
            raise InputError("No model to run.")
        sides = {loaded.meta.model_side for loaded, _weight in members}
        if len(sides) > 1:
            raise InputError(f"The ensemble mixes model sides {sorted(sides)}; its members must share one side.")
        self.model_side = sides.pop()
        self.log = log
        self.device = pick_device(device, log)
        self.precision = pick_precision(precision, self.device)
        self.batch_size = batch_size or (64 if self.device == "cuda" else 4)
        self.members = []
        self.networks = []
        self.metas = [loaded.meta for loaded, _weight in members]
        for index, (loaded, weight) in enumerate(members):
            meta = loaded.meta
            self.members.append(MemberChannels(loaded.path.name, meta.head, tuple(meta.classes), weight, index))
            network = loaded.network.to(self.device).eval()
            if self.device == "cuda":
                network = network.to(memory_format=torch.channels_last)
            self.networks.append((network, meta.input_transform, tuple(meta.db_window), meta.normalization))
        self.channels = MapChannels(tuple(member.key(name) for member in self.members for name in member.classes)
                                    + (LAND, LAND_VARIANCE, COAST))
        self.needs_scene_percentiles = any(entry[3] == "scene" for entry in self.networks)
        self.has_land = any("land" in member.classes for member in self.members)
        self.has_coast = any("coast" in member.classes for member in self.members)
        log(f"{len(self.members)} model(s), batch {self.batch_size}, {self.precision} on {self.device}.")

    def start(self, scene) -> ScenePass:
        """The per-scene state of a run over `scene` (its dB percentiles when a member normalizes per scene)."""
        percentiles = None
        if self.needs_scene_percentiles:
            percentiles = scene_db_percentiles(scene)
        return ScenePass(self.batch_size, percentiles)

    def variance_from_moments(self, block):
        """On a merged map (channels, rows, cols; array or tensor): LAND_VARIANCE, which holds the mean square
        of LAND, becomes the variance of LAND, before any smoothing."""
        land, variance = self.channels[LAND], self.channels[LAND_VARIANCE]
        block[variance] = (block[variance] - block[land] ** 2).clip(min=0.0)
        return block

    def __call__(self, db_windows, scene_pass: ScenePass):
        """(B, 1, side, side) dB tensor (NaN = no data) -> (B, channels, side, side) float32 on the device."""
        import torch

        while True:
            try:
                return torch.cat([self._run(part, scene_pass.percentiles)
                                  for part in torch.split(db_windows, scene_pass.batch_size)])
            except torch.cuda.OutOfMemoryError:
                if scene_pass.batch_size == 1:
                    raise CoastlineError("The GPU ran out of memory even with batch 1. Close other GPU programs "
                                         "or choose DEVICE cpu.") from None
                scene_pass.batch_size = max(1, scene_pass.batch_size // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                self.log(f"GPU out of memory: batch size lowered to {scene_pass.batch_size}.")

    def _run(self, db, percentiles):
        import torch

        db = db.to(self.device, non_blocking=True)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16,
                                  enabled=self.device == "cuda" and self.precision != "fp32")
        outputs = []
        with torch.inference_mode(), autocast:
            for (network, transform, window, normalization), member in zip(self.networks, self.members):
                source = db
                if normalization == "scene":
                    if percentiles is None:
                        raise CoastlineError("A scene-normalized model needs the scene's percentiles: start the "
                                             "scene with predictor.start(scene).")
                    source = normalize_db(db, percentiles, window)
                batch = model_input(source, transform, window)
                if self.device == "cuda":
                    batch = batch.contiguous(memory_format=torch.channels_last)
                logits = network(batch).float()
                outputs.append(torch.sigmoid(logits) if member.head == "sigmoid" else torch.softmax(logits, 1))
        probabilities = torch.cat(outputs, 1)
        return torch.cat([probabilities, *self._fused(probabilities)], 1)

    def _fused(self, probabilities):
        import torch

        shape = (probabilities.shape[0], 1, *probabilities.shape[2:])
        land = torch.zeros(shape, device=probabilities.device)
        land_sq = torch.zeros(shape, device=probabilities.device)
        coast = torch.zeros(shape, device=probabilities.device)
        land_weight = coast_weight = 0.0
        def channel(member, name):
            index = self.channels[member.key(name)]
            return probabilities[:, index:index + 1]

        for member in self.members:
            if "land" in member.classes:
                p_land, p_sea = channel(member, "land"), channel(member, "sea")
                share = p_land / (p_land + p_sea).clamp_min(1e-6)
                land += member.weight * share
                land_sq += member.weight * share * share
                land_weight += member.weight
            if "coast" in member.classes:
                coast += member.weight * channel(member, "coast")
                coast_weight += member.weight
        return (land / max(land_weight, 1e-12), land_sq / max(land_weight, 1e-12), coast / max(coast_weight, 1e-12))
