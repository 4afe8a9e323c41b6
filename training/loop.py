"""The training loop (mission step 4): train each member, validate every epoch on the coastline metric with
the real inference engine, keep the best checkpoint, resume, and write self-describing model files plus an
ensemble manifest weighted by the members' validation scores.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import Cancelled, InputError
from ..core.extract import ORIENTATION_FREE, PAPER, ExtractConfig, run_models
from ..core.infer import InferenceConfig
from ..core.metric import DEFAULT_CAP_M, evaluate
from ..core.raster import Scene, array_scene, open_scene
from ..models.modelfile import HEADS, LoadedModel, ModelMeta, create_model, save_model, write_manifest
from .dataset import CropConfig, CropSampler, TrainScene, to_tensors
from .labels import rasterize_labels
from .presets import FAST_SINGLE, MemberSpec


@dataclass(frozen=True)
class TrainConfig:
    members: tuple[MemberSpec, ...] = FAST_SINGLE
    epochs: int = 20
    steps_per_epoch: int = 50
    batch_size: int = 8
    crop: CropConfig = field(default_factory=CropConfig)
    validation_share: float = 0.2
    device: str = "auto"
    seed: int = 0
    workers: int = 0
    half_precision_files: bool = False
    ema_decay: float = 0.99  # validated and saved weights are this running average: steadier than the last step
    init_from: str | None = None  # a model file to start from (fine-tuning); it must match the member's network


@dataclass
class TrainSource:
    """A training scene as the user gives it: image, coastline lines and optional land polygons (map CRS).

    `classes_path` may name a label raster (0 sea, 1 no-data, 2 land) on the image's grid, such as the
    generator writes; it then decides the sides instead of polygons or the brightness rule.
    """

    image: str
    lines: list[np.ndarray]
    land_polygons: list | None = None
    classes_path: str | None = None


@dataclass
class ValidationScene:
    scene: Scene
    truth: list[np.ndarray]


@dataclass
class MemberResult:
    path: Path
    score: float | None
    history: list[dict]


@dataclass
class TrainResult:
    members: list[MemberResult]
    manifest: Path


def _clip_lines(lines: list[np.ndarray], bounds: tuple[float, float, float, float]) -> list[np.ndarray]:
    import shapely

    box = shapely.box(*bounds)
    clipped = []
    for line in lines:
        part = shapely.intersection(shapely.LineString(line), box)
        for geometry in getattr(part, "geoms", [part]):
            if not geometry.is_empty and geometry.length > 0:
                clipped.append(shapely.get_coordinates(geometry))
    return clipped


def _bounds(scene: Scene, first_row: int, last_row: int) -> tuple[float, float, float, float]:
    gt = scene.geotransform
    xs = [gt[0], gt[0] + scene.width * gt[1]]
    ys = [gt[3] + first_row * gt[5], gt[3] + last_row * gt[5]]
    return min(xs), min(ys), max(xs), max(ys)


def prepare_scenes(sources: Sequence[TrainSource], validation_share: float, log: Callable[[str], None]
                   ) -> tuple[list[TrainScene], list[ValidationScene]]:
    """Rasterize labels once per scene and split off validation: whole scenes when there are several,
    else the bottom `validation_share` of the single scene's rows."""
    if not sources:
        raise InputError("No training raster was given.")
    count = len(sources)
    held_out = max(1, round(count * validation_share)) if count > 1 and validation_share > 0 else 0
    train, validation = [], []
    for index, source in enumerate(sources):
        scene = open_scene(source.image)
        db = scene.read_db()
        land = None
        if source.classes_path:
            land = open_scene(source.classes_path).read() == 2  # 0 (sea) reads as no data: only land matters
        labels = rasterize_labels(db, scene.geotransform, source.lines, source.land_polygons, land_mask=land)
        for note in labels.notes:
            log(f"{scene.name}: {note}")
        if index >= count - held_out:
            validation.append(ValidationScene(scene, source.lines))
            continue
        split = scene.height if count > 1 or validation_share <= 0 else int(scene.height * (1 - validation_share))
        train.append(TrainScene(scene, labels.classes, labels.coast, rows=(0, split)))
        if split < scene.height:
            dn_like = np.nan_to_num(np.power(10.0, (db[split:] + 83.0) / 20.0), nan=0.0)
            gt = scene.geotransform
            region_gt = (gt[0] + split * gt[2], gt[1], gt[2], gt[3] + split * gt[5], gt[4], gt[5])
            region = array_scene(np.clip(dn_like, 0, 65535).astype(np.uint16), region_gt, scene.crs_wkt,
                                 f"{scene.name}_validation")
            validation.append(ValidationScene(region, _clip_lines(source.lines, _bounds(scene, split, scene.height))))
            log(f"{scene.name}: rows {split}..{scene.height} held out for validation.")
    return train, validation


def member_meta(spec: MemberSpec, crop: CropConfig, score: float | None, provenance: dict,
                pixel_size_m: float | None = None) -> ModelMeta:
    return ModelMeta(architecture=spec.architecture, encoder=spec.encoder, head=spec.head,
                     classes=HEADS[spec.head], input_transform=spec.input_transform,
                     db_window=crop.augment.db_window, model_side=crop.model_side, crop_range=crop.crop_range,
                     validation_score=score, provenance=provenance, normalization=crop.normalization,
                     pixel_size_m=pixel_size_m)


def validate(network, meta: ModelMeta, scenes: Sequence[ValidationScene], device: str) -> float:
    """Mean competition score of the network alone over the validation scenes (lower is better)."""
    from ..core.extract import _Run
    from ..core.predict import EnsemblePredictor

    predictor = EnsemblePredictor([(LoadedModel(Path(f"{meta.encoder}.safetensors"), meta, network), 1.0)],
                                  device=device, batch_size=8, log=lambda message: None)
    method = ORIENTATION_FREE if predictor.has_land else PAPER
    config = ExtractConfig(method=method, inference=InferenceConfig(device=device, overlap=0.25), min_length_m=30)
    scores = []
    for item in scenes:
        if not item.truth:
            continue
        lines = run_models(item.scene, config, method, predictor, meta.scales, _Run(None, None, None))
        score, _distances = evaluate([line.coords for line in lines], item.truth)
        scores.append(score.score)
    network.train()
    return float(np.mean(scores)) if scores else DEFAULT_CAP_M


def _loss(spec: MemberSpec):
    import segmentation_models_pytorch as smp
    import torch

    if spec.loss == "bce":
        return torch.nn.BCEWithLogitsLoss()
    dice, focal = smp.losses.DiceLoss("multiclass"), smp.losses.FocalLoss("multiclass")
    return lambda logits, target: dice(logits, target) + focal(logits, target)


def _optimizer(spec: MemberSpec, parameters):
    import torch

    if spec.optimizer == "adadelta":
        return torch.optim.Adadelta(parameters, lr=spec.learning_rate)
    return torch.optim.Adam(parameters, lr=spec.learning_rate)


def _start_weights(path: str, meta: ModelMeta):
    """The network of a model file to fine-tune, checked against the member it starts."""
    from ..models.modelfile import load_model

    start = load_model(path)
    ours, theirs = (meta.architecture, meta.encoder, tuple(meta.classes)), (
        start.meta.architecture, start.meta.encoder, tuple(start.meta.classes))
    if ours != theirs:
        raise InputError(f"'{Path(path).name}' is a {theirs[0]}/{theirs[1]} with classes {', '.join(theirs[2])}; the "
                         f"member to train is a {ours[0]}/{ours[1]} with classes {', '.join(ours[2])}. Choose the "
                         "same network and head to fine-tune it.")
    return start.network


class _Samples:
    """Index dataset over the crop sampler, so a DataLoader can run it in worker processes."""

    def __init__(self, sampler: CropSampler, epoch: int, count: int):
        self.sampler, self.epoch, self.count = sampler, epoch, count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return self.sampler.sample(self.epoch, index)


def train_member(spec: MemberSpec, sampler: CropSampler, validation: Sequence[ValidationScene],
                 config: TrainConfig, folder: Path, provenance: dict, progress: Callable[[float], None],
                 cancelled: Callable[[], bool], log: Callable[[str], None]) -> MemberResult:
    import torch

    from ..core.predict import pick_device

    device = pick_device(config.device, log)
    torch.manual_seed(config.seed)
    pixel_size = float(np.median([scene.scene.pixel_size for scene in sampler.scenes]))

    def meta_with(score):
        return member_meta(spec, config.crop, score, provenance, pixel_size)

    meta = meta_with(None)
    network = create_model(meta).to(device)
    if config.init_from:
        network.load_state_dict(_start_weights(config.init_from, meta).state_dict())
        log(f"{spec.name}: starting from the weights of {Path(config.init_from).name}.")
    # Averaged weights (batch-norm statistics included) score far more steadily per epoch than the raw ones.
    averaged = torch.optim.swa_utils.AveragedModel(
        network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    optimizer = _optimizer(spec, network.parameters())
    # Cosine decay per step: the noisy per-epoch validation score does not drive the learning rate.
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * config.steps_per_epoch)
    loss_function = _loss(spec)
    checkpoint_path = folder / f"{spec.name}.checkpoint.pt"
    model_path = folder / f"{spec.name}.safetensors"
    start_epoch, best, history = 0, None, []
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        network.load_state_dict(state["network"])
        averaged.load_state_dict(state["averaged"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best, history = state["epoch"], state["best"], json.loads(state["history"])
        log(f"{spec.name}: resumed from the checkpoint after epoch {start_epoch}.")

    def save_checkpoint(epoch: int) -> None:
        torch.save({"network": network.state_dict(), "averaged": averaged.state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "epoch": epoch,
                    "best": best, "history": json.dumps(history)}, checkpoint_path)

    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    network.train()
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        loader = torch.utils.data.DataLoader(
            _Samples(sampler, epoch, config.steps_per_epoch * config.batch_size), batch_size=config.batch_size,
            num_workers=config.workers, collate_fn=lambda samples: to_tensors(samples, spec.head,
                                                                              spec.input_transform,
                                                                              config.crop.augment.db_window))
        losses = []
        for step, (inputs, target) in enumerate(loader):
            if cancelled():
                save_checkpoint(epoch)
                if not model_path.exists():
                    save_model(model_path, averaged.module, meta_with(None), config.half_precision_files)
                raise Cancelled(f"Training cancelled in epoch {epoch + 1}; the checkpoint {checkpoint_path.name} "
                                f"and the model {model_path.name} were saved. Run again to resume.")
            inputs, target = inputs.to(device), target.to(device)
            with autocast:
                loss = loss_function(network(inputs).float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            averaged.update_parameters(network)
            losses.append(loss.item())
            progress((epoch + (step + 1) / config.steps_per_epoch) / config.epochs)
        score = validate(averaged.module, meta, validation, device) if validation else float(np.mean(losses))
        improved = best is None or score < best
        if improved:
            best = score
            save_model(model_path, averaged.module, meta_with(score if validation else None),
                       config.half_precision_files)
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5), "score": round(score, 3),
                        "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 1)})
        save_checkpoint(epoch + 1)
        label = "validation score" if validation else "loss (no validation scene)"
        log(f"{spec.name} epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.4f}, {label} {score:.2f}"
            f"{' (best, saved)' if improved else ''}")
    return MemberResult(model_path, best if validation else None, history)


def train(sources: Sequence[TrainSource], config: TrainConfig, output_folder: str | Path,
          progress: Callable[[float], None] | None = None, cancel: Callable[[], bool] | None = None,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Train every member of `config`, write model files and `ensemble.json` into `output_folder`."""
    import segmentation_models_pytorch as smp
    import torch

    progress = progress or (lambda percent: None)
    cancel = cancel or (lambda: False)
    log = log or (lambda message: None)
    folder = Path(output_folder)
    folder.mkdir(parents=True, exist_ok=True)
    train_scenes, validation = prepare_scenes(sources, config.validation_share, log)
    if not validation:
        log("No validation scene: the best checkpoint is chosen by training loss; set a validation share > 0.")
    sampler = CropSampler(train_scenes, config.crop, config.seed)
    provenance = {"data": [Path(source.image).name for source in sources],
                  "recipe": json.loads(json.dumps(asdict(config), default=str)),
                  "date": datetime.date.today().isoformat(),
                  "versions": {"torch": torch.__version__, "segmentation_models_pytorch": smp.__version__}}
    results = []
    count = len(config.members)
    for index, spec in enumerate(config.members):
        log(f"Training {spec.name} ({index + 1}/{count}).")
        results.append(train_member(spec, sampler, validation, config, folder, provenance,
                                    lambda share, index=index: progress(100 * (index + share) / count), cancel, log))
    # The paper weighs members by validation score; lower is better, so weight = 1 / score.
    weights = [1.0 / max(result.score, 1e-3) if result.score is not None else 1.0 for result in results]
    manifest = write_manifest(folder / "ensemble.json", [(str(result.path), weight)
                                                          for result, weight in zip(results, weights)])
    return TrainResult(results, manifest)
