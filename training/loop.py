"""The training loop (mission step 4): train each member, validate every epoch on the coastline metric with
the real inference engine, keep the best checkpoint, resume, and write self-describing model files plus an
ensemble manifest weighted by the members' validation scores.

Under torchrun (the command line calls `init_distributed`) the loop runs data-parallel: each rank trains on its
share of every global batch, DistributedDataParallel averages the gradients, and only rank 0 validates, logs and
writes files. The output folder must then be one that every rank sees (a shared file system across nodes).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.config import ExtractConfig, InferenceConfig
from ..core.errors import Cancelled, CoastlineError, InputError, OutputError
from ..core.evaluation.metric import DEFAULT_CAP_M, evaluate
from ..core.hooks import RunHooks, as_hooks
from ..core.inference.loading import model_sides
from ..core.inference.predict import DEVICES, EnsemblePredictor, pick_device
from ..core.inference.stream import map_stride
from ..core.io.readers import open_scene
from ..core.io.scene import Scene
from ..core.io.writing import create_folder, output_error
from ..core.methods import registry
from ..core.pipeline.extract import extract
from ..models.modelfile import HEADS, LoadedModel, ModelMeta, create_model, load_model, save_model, write_manifest
from .checkpoint import read_checkpoint, write_checkpoint
from .dataset import CropConfig, CropSampler, TrainScene, to_tensors
from .labels import label_raster
from .presets import FAST_SINGLE, MemberSpec

CHECKPOINT_SUFFIX = ".checkpoint.safetensors"


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
    accumulation: int = 1  # each batch runs as this many parts whose gradients add up (less memory, same recipe)
    # (from pixel size m, crop sides) pairs recorded in the model files (ModelMeta); validation reads them too
    inference_scales: tuple[tuple[float, tuple[int, ...]], ...] = ()

    def __post_init__(self):
        # Refused here, before scenes are read: MemberSpec checks its own names.
        if not self.members:
            raise InputError("No model to train: give at least one member.")
        if self.device not in DEVICES:
            raise InputError(f"Unknown device '{self.device}'. Choose one of: {', '.join(DEVICES)}.")
        for name in ("epochs", "steps_per_epoch", "batch_size", "accumulation"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, not {getattr(self, name)}.")


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


def init_distributed(device: str) -> tuple[int, int]:
    """Join torchrun's process group when the environment names one (WORLD_SIZE > 1): NCCL when training on
    GPUs (each rank on its LOCAL_RANK's GPU), gloo on CPUs. Returns (rank, world size); (0, 1) without torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        on_gpu = device in ("auto", "cuda") and torch.cuda.is_available()
        if on_gpu:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        # Ranks wait for rank 0 while it validates: allow for long validations.
        dist.init_process_group("nccl" if on_gpu else "gloo", timeout=datetime.timedelta(hours=2))
    return dist.get_rank(), dist.get_world_size()


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) of this process when a process group is up, else (0, 1)."""
    try:
        import torch.distributed as dist
    except ImportError:
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier() -> None:
    if distributed_rank()[1] > 1:
        import torch.distributed as dist

        dist.barrier()


def _rank_zero_first(call):
    """`call()` on rank 0, then on the other ranks once it succeeded there; rank 0's error reaches every rank, so
    none waits for ever."""
    rank, world = distributed_rank()
    if world == 1:
        return call()
    import torch.distributed as dist

    result, failure = None, [None]
    if rank == 0:
        try:
            result = call()
        except CoastlineError as error:
            failure[0] = error
    dist.broadcast_object_list(failure, src=0)
    if failure[0] is not None:
        raise failure[0]
    return result if rank == 0 else call()


def _global_mean(value: float) -> float:
    """The mean of `value` over the ranks (the value itself in a single process)."""
    if distributed_rank()[1] == 1:
        return value
    import torch
    import torch.distributed as dist

    total = torch.tensor([value], dtype=torch.float64, device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(total)
    return float(total.item()) / dist.get_world_size()


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


def prepare_scenes(sources: Sequence[TrainSource], validation_share: float, hooks: RunHooks,
                   label_folder: str | Path | None = None) -> tuple[list[TrainScene], list[ValidationScene]]:
    """Make each training scene's label raster (strip by strip, in `label_folder`, by default beside its image;
    reused by later runs on the same inputs) and split off validation: whole scenes when there are several, else
    the bottom `validation_share` of the single scene's rows. Label notes and warnings go to the hooks."""
    if not sources:
        raise InputError("No training raster was given.")
    count = len(sources)
    held_out = max(1, round(count * validation_share)) if count > 1 and validation_share > 0 else 0
    train, validation = [], []
    for index, source in enumerate(sources):
        hooks.check_cancel()
        scene = open_scene(source.image)
        if index >= count - held_out:
            validation.append(_validation_scene(scene, _clip_lines(source.lines, _bounds(scene, 0, scene.height)),
                                                hooks))
            continue
        folder = Path(label_folder) if label_folder is not None else Path(source.image).resolve().parent
        try:
            labels = label_raster(scene, source.lines, folder, source.land_polygons, source.classes_path, hooks=hooks)
        except InputError as error:
            raise InputError(f"{scene.name}: {error}") from None
        for note in labels.report.notes:
            hooks.note(f"{scene.name}: {note}")
        for warning in labels.report.warnings:
            hooks.warning(f"{scene.name}: {warning}")
        split = scene.height if count > 1 or validation_share <= 0 else int(scene.height * (1 - validation_share))
        train.append(TrainScene(scene, str(labels.path), rows=(0, split)))
        if split < scene.height:
            validation.append(_validation_scene(
                _bottom_rows(scene, split, folder), _clip_lines(source.lines, _bounds(scene, split, scene.height)),
                hooks))
            hooks.log(f"{scene.name}: rows {split}..{scene.height} held out for validation.")
    return train, validation


def _bottom_rows(scene: Scene, first_row: int, folder: Path) -> Scene:
    """The scene's rows from `first_row` on as a scene of their own: a VRT window on the file, no pixels copied."""
    from osgeo import gdal

    gt = scene.geotransform
    region = replace(scene, height=scene.height - first_row, name=f"{scene.name}_validation",
                     geotransform=(gt[0] + first_row * gt[2], gt[1], gt[2], gt[3] + first_row * gt[5], gt[4], gt[5]))
    path = folder / f"{region.name}_rows_{first_row}.vrt"
    gdal.UseExceptions()
    try:
        gdal.Translate(str(path), os.path.abspath(scene.path), format="VRT",
                       srcWin=[0, first_row, scene.width, region.height])
    except RuntimeError as error:
        raise output_error(path, error, "the validation rows") from None
    return replace(region, path=str(path))


def _validation_scene(scene: Scene, truth: list[np.ndarray], hooks: RunHooks) -> ValidationScene:
    """`truth` holds only the lines inside the scene: lines of other scenes would count as missed coast."""
    if not truth:
        hooks.warning(f"{scene.name}: no coastline line in this validation scene; it is not scored.")
    return ValidationScene(scene, truth)


def member_meta(spec: MemberSpec, crop: CropConfig, score: float | None, provenance: dict,
                pixel_size_m: float | None = None, pixel_size_range_m: tuple[float, float] | None = None,
                inference_scales: tuple[tuple[float, tuple[int, ...]], ...] = ()) -> ModelMeta:
    return ModelMeta(architecture=spec.architecture, encoder=spec.encoder, head=spec.head,
                     classes=HEADS[spec.head], input_transform=spec.input_transform,
                     db_window=crop.augment.db_window, model_side=crop.model_side, crop_range=crop.crop_range,
                     validation_score=score, provenance={**provenance, "loss": spec.training_loss},
                     normalization=crop.normalization,
                     pixel_size_m=pixel_size_m, pixel_size_range_m=pixel_size_range_m,
                     inference_scales=inference_scales)


def validation_config(meta: ModelMeta, device: str) -> ExtractConfig:
    """Extract coastline's defaults (overlap, minimum length, batch, stride, smoothing, the model's own scales)
    on the training device, with the first registered method that runs the model (orientation-free needs a land
    class; coast-only models run the paper's rules): the saved validation score describes what users run."""
    return ExtractConfig(method=registry.method_for_models([meta]).name, inference=InferenceConfig(device=device))


def describe_validation(meta: ModelMeta, scenes: Sequence[ValidationScene], device: str) -> str:
    config = validation_config(meta, device)
    inference = config.inference
    sides = [(item.scene.name, model_sides([meta], item.scene.pixel_size, inference)) for item in scenes]
    scales = "; ".join(f"{name} {crop_sides} (map stride {inference.stride or map_stride(crop_sides, meta.model_side)} "
                       "px)" for name, crop_sides in sides)
    return (f"validated as Extract coastline runs: method {config.method}, overlap {inference.overlap:g}, "
            f"minimum length {config.min_length_m:g} m, smoothing {inference.smoothing_sigma:g} map cells; "
            f"scales (crop sides) {scales}.")


def validate(network, meta: ModelMeta, scenes: Sequence[ValidationScene], device: str, hooks: RunHooks) -> float:
    """Mean competition score of the network alone over the validation scenes (lower is better), each run
    through Extract coastline itself with `validation_config`. Only cancel is taken from `hooks`: Extract's
    per-scene notes and progress would flood the training log."""

    config = validation_config(meta, device)
    predictor = EnsemblePredictor([(LoadedModel(Path(f"{meta.encoder}.safetensors"), meta, network), 1.0)],
                                  device, config.inference.precision, config.inference.batch_size)
    scores = []
    for item in scenes:
        hooks.check_cancel()
        if not item.truth:
            continue
        result = extract(item.scene, config, RunHooks(cancel=hooks.cancel), predictor=predictor)
        score, _distances = evaluate([line.coords for line in result.lines], item.truth)
        scores.append(score.score)
    return float(np.mean(scores)) if scores else DEFAULT_CAP_M


def make_loss(spec: MemberSpec):
    """The member's loss on (logits, target as to_tensors gives it)."""
    import segmentation_models_pytorch as smp
    import torch

    if spec.training_loss == "bce":
        return torch.nn.BCEWithLogitsLoss()
    dice, focal = smp.losses.DiceLoss("multiclass"), smp.losses.FocalLoss("multiclass")
    return lambda logits, target: dice(logits, target) + focal(logits, target)


def make_optimizer(spec: MemberSpec, parameters):
    import torch

    optimizers = {"adam": torch.optim.Adam, "adadelta": torch.optim.Adadelta}
    return optimizers[spec.optimizer](parameters, lr=spec.learning_rate)


def _start_weights(path: str, meta: ModelMeta, network, log: Callable[[str], None], name: str) -> None:
    """Load a model file's weights into `network` to fine-tune it. The network must be the same; a different
    head (other classes) keeps the start's encoder and decoder and begins its output layer afresh."""

    start = load_model(path)
    ours, theirs = (meta.architecture, meta.encoder), (start.meta.architecture, start.meta.encoder)
    if ours != theirs:
        raise InputError(f"'{Path(path).name}' is a {theirs[0]}/{theirs[1]}; the member to train is a "
                         f"{ours[0]}/{ours[1]}. Choose the same network to fine-tune it.")
    # Other classes: the output layer means something else, so it starts afresh whatever its shape.
    other_classes = tuple(start.meta.classes) != tuple(meta.classes)
    state = network.state_dict()

    def kept(key: str) -> bool:
        return not (other_classes and key.startswith("segmentation_head"))

    taken = {key: value for key, value in start.network.state_dict().items() if kept(key)}
    unfit = [key for key in state if kept(key) and key not in taken]
    unfit += [key for key, value in taken.items() if key not in state or state[key].shape != value.shape]
    if unfit:  # never a silent partial start
        raise InputError(f"'{Path(path).name}' does not fit the member to train beyond its output layer ("
                         f"{', '.join(unfit[:3])}); it was made with another network layout. Choose a model "
                         "file made by this version, or train without a start model.")
    network.load_state_dict({**state, **taken})
    note = ""
    if other_classes:
        note = (f"; its classes ({', '.join(start.meta.classes)}) differ from this member's "
                f"({', '.join(meta.classes)}), so {len(state) - len(taken)} output tensors start afresh")
    if start.meta.input_transform != meta.input_transform:
        note += f"; it read {start.meta.input_transform} input, this member reads {meta.input_transform}"
    log(f"{name}: starting from the weights of {Path(path).name}{note}.")


class EpochSamples:
    """Index dataset over the crop sampler, so a DataLoader can run it in worker processes. With several ranks
    each takes its slice of every global batch: rank r of w gets samples r*b .. (r+1)*b - 1 of each batch of
    w*b (b = `local_batch`), so the ranks together see exactly the single-process schedule."""

    def __init__(self, sampler: CropSampler, epoch: int, count: int, local_batch: int = 1, rank: int = 0,
                 world: int = 1):
        self.sampler, self.epoch, self.count, self.local_batch, self.rank, self.world = (
            sampler, epoch, count, local_batch, rank, world)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        step, offset = divmod(index, self.local_batch)
        return self.sampler.sample(self.epoch, (step * self.world + self.rank) * self.local_batch + offset)


class AccumulatingStep:
    """One optimizer step over a batch, run as `micro_batches` parts whose gradients add up to the whole batch's.

    When the GPU runs out of memory the batch is split into twice as many parts and the step is redone: the
    effective batch, hence the recipe, stays the same (batch-norm statistics come from the smaller parts, and
    Dice is taken per part). The split is kept for the following steps.
    """

    def __init__(self, network, optimizer, loss_function, device: str, log: Callable[[str], None],
                 micro_batches: int = 1):
        import torch

        self.network, self.optimizer, self.loss_function, self.device, self.log = (
            network, optimizer, loss_function, device, log)
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
        self.micro_batches = micro_batches

    def __call__(self, inputs, target) -> float:
        """Train on one batch; returns its loss."""
        import torch

        while True:
            try:
                loss = self._accumulate(inputs, target)
                break
            except torch.cuda.OutOfMemoryError:
                pass  # handled after the except block, once the failed attempt's tensors can be freed
            self._split_further(len(inputs))
        self.optimizer.step()
        return loss

    def _accumulate(self, inputs, target) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        parts = list(zip(inputs.tensor_split(self.micro_batches), target.tensor_split(self.micro_batches)))
        for index, (part_inputs, part_target) in enumerate(parts):
            share = len(part_inputs) / len(inputs)
            # Under DDP the gradients are averaged over the ranks once per step, on the last part: ranks that split
            # their batch differently (after an out-of-memory) still meet in the same collectives.
            last = index == len(parts) - 1
            with contextlib.nullcontext() if last or not hasattr(self.network, "no_sync") else self.network.no_sync():
                with self.autocast:
                    logits = self.network(part_inputs.to(self.device))
                loss = self.loss_function(logits.float(), part_target.to(self.device))
                (loss * share).backward()
            total += loss.item() * share
        return total

    def _split_further(self, batch_size: int) -> None:
        import torch

        self.optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if self.micro_batches >= batch_size:
            raise CoastlineError("The GPU ran out of memory even when training on one crop at a time. Lower the "
                                 "model side or the batch size, close other programs using the GPU, or train on "
                                 "the CPU (DEVICE cpu; --device cpu on the command line).")
        self.micro_batches = min(batch_size, 2 * self.micro_batches)
        self.log(f"GPU out of memory: each batch of {batch_size} now runs as {self.micro_batches} micro-batches of "
                 f"up to {-(-batch_size // self.micro_batches)} with gradient accumulation (same effective batch).")


def train_member(spec: MemberSpec, sampler: CropSampler, validation: Sequence[ValidationScene],
                 config: TrainConfig, folder: Path, provenance: dict, hooks: RunHooks) -> MemberResult:
    """Train one member; `hooks` progress runs 0..100 over this member. Under torchrun every rank calls it; rank 0
    alone validates and writes the model file and checkpoints."""
    import torch

    rank, world = distributed_rank()
    if config.batch_size % (world * config.accumulation):
        raise InputError(f"The batch size {config.batch_size} must be a multiple of the number of processes "
                         f"({world}) times the accumulation ({config.accumulation}): each takes an equal share.")
    local_batch = config.batch_size // world
    device = pick_device(config.device, hooks.log)
    torch.manual_seed(config.seed)
    pixel_sizes = [scene.scene.pixel_size for scene in sampler.scenes]
    pixel_size_range = (float(min(pixel_sizes)), float(max(pixel_sizes)))

    def meta_with(score):
        return member_meta(spec, config.crop, score, provenance, float(np.median(pixel_sizes)), pixel_size_range,
                           config.inference_scales)

    meta = meta_with(None)
    network = create_model(meta).to(device)
    if config.init_from:
        _start_weights(config.init_from, meta, network, hooks.log, spec.name)
    # Averaged weights (batch-norm statistics included) score far more steadily per epoch than the raw ones.
    averaged = torch.optim.swa_utils.AveragedModel(
        network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    optimizer = make_optimizer(spec, network.parameters())
    total_steps = config.epochs * config.steps_per_epoch

    def cosine(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))

    # Cosine decay per step: the noisy per-epoch validation score does not drive the learning rate. In closed form
    # over this run's steps, so a run resumed with more epochs follows the longer schedule.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)
    trained = network
    if world > 1:  # gradients averaged over the ranks; the parameters start as rank 0's
        trained = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[torch.cuda.current_device()] if device == "cuda" else None)
        hooks.log(f"{spec.name}: {world} processes, each {local_batch} of every batch of {config.batch_size}.")
    step = AccumulatingStep(trained, optimizer, make_loss(spec), device, hooks.log, config.accumulation)
    modules = {"network": network, "averaged": averaged}
    checkpoint_path = folder / f"{spec.name}{CHECKPOINT_SUFFIX}"
    model_path = folder / f"{spec.name}.safetensors"
    start_epoch, best, history = 0, None, []
    if checkpoint_path.exists():
        saved = read_checkpoint(checkpoint_path, modules, optimizer, scheduler, device)
        start_epoch, best, history = saved["epoch"], saved["best"], saved["history"]
        for group, base_rate in zip(optimizer.param_groups, scheduler.base_lrs):  # this run's schedule from now on
            group["lr"] = base_rate * cosine(scheduler.last_epoch)
        hooks.log(f"{spec.name}: resumed from the checkpoint after epoch {start_epoch}.")
    if world > 1:
        import torch.distributed as dist

        starts = [None] * world
        dist.all_gather_object(starts, start_epoch)
        if len(set(starts)) > 1:
            raise InputError(f"The processes found different checkpoints in {folder} (epochs {starts}): the output "
                             "folder must be one folder that every process sees (a shared file system).")

    saved_epoch = start_epoch if checkpoint_path.exists() else None

    @contextlib.contextmanager
    def stop_if_save_fails():
        """A save that fails (a full disk) stops the run, saying what is still there to resume from: the save
        left the previous file whole."""
        try:
            yield
        except OutputError as error:
            if saved_epoch is None:
                kept = "no checkpoint of it was saved yet: run again to train it afresh"
            else:
                kept = (f"the last good checkpoint {checkpoint_path.name} (after epoch {saved_epoch})"
                        f"{f' and the model {model_path.name} are' if model_path.exists() else ' is'} whole: run "
                        "again to resume from there")
            raise OutputError(f"{error} Training {spec.name} stopped; {kept}.") from None

    def save_checkpoint(epoch: int) -> None:
        nonlocal saved_epoch
        with stop_if_save_fails():
            write_checkpoint(checkpoint_path, modules, optimizer, scheduler,
                             {"epoch": epoch, "best": best, "history": history})
        saved_epoch = epoch

    if validation:
        hooks.log(f"{spec.name}: {describe_validation(meta, validation, device)}")
    network.train()
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, config.epochs):
            started = time.perf_counter()
            loader = torch.utils.data.DataLoader(
                EpochSamples(sampler, epoch, config.steps_per_epoch * local_batch, local_batch, rank, world),
                batch_size=local_batch, num_workers=config.workers,
                collate_fn=lambda samples: to_tensors(samples, spec.head, spec.input_transform,
                                                      config.crop.augment.db_window))
            losses = []
            for index, (inputs, target) in enumerate(loader):
                hooks.check_cancel()
                losses.append(step(inputs, target))
                scheduler.step()
                averaged.update_parameters(network)
                hooks.progress(100 * (epoch + (index + 1) / config.steps_per_epoch) / config.epochs)
            loss = _global_mean(float(np.mean(losses)))  # the whole batch's loss, as one process computes it
            if rank != 0:
                continue
            score = validate(averaged.module, meta, validation, device, hooks) if validation else loss
            improved = best is None or score < best
            if improved:
                best = score
                with stop_if_save_fails():
                    save_model(model_path, averaged.module, meta_with(score if validation else None),
                               config.half_precision_files)
            history.append({"epoch": epoch + 1, "loss": round(loss, 5), "score": round(score, 3),
                            "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 1)})
            save_checkpoint(epoch + 1)
            label = "validation score" if validation else "loss (no validation scene)"
            hooks.log(f"{spec.name} epoch {epoch + 1}/{config.epochs}: loss {loss:.4f}, {label} "
                      f"{score:.2f}{' (best, saved)' if improved else ''}")
    except Cancelled:
        if rank == 0:
            save_checkpoint(epoch)
            if not model_path.exists():
                with stop_if_save_fails():
                    save_model(model_path, averaged.module, meta_with(None), config.half_precision_files)
        raise Cancelled(f"Training cancelled in epoch {epoch + 1}; the checkpoint {checkpoint_path.name} and the "
                        f"model {model_path.name} were saved. Run again to resume.") from None
    _barrier()  # the other ranks wait for rank 0's last validation and files
    return MemberResult(model_path, best if validation else None, history)


def train(sources: Sequence[TrainSource], config: TrainConfig, output_folder: str | Path,
          hooks: RunHooks | None = None) -> TrainResult:
    """Train every member of `config`, write model files and `ensemble.json` into `output_folder`."""
    import segmentation_models_pytorch as smp
    import torch

    hooks = as_hooks(hooks)
    rank, _world = distributed_rank()
    if rank != 0:  # one log and one set of files: rank 0's
        hooks = RunHooks(cancel=hooks.cancel)
    folder = create_folder(output_folder)
    # Rank 0 writes the label rasters first; the others reuse them.
    train_scenes, validation = _rank_zero_first(
        lambda: prepare_scenes(sources, config.validation_share, hooks, folder / "labels"))
    if not validation:
        hooks.log("No validation scene: the best checkpoint is chosen by training loss; set a validation share > 0.")
    sampler = CropSampler(train_scenes, config.crop, config.seed)
    provenance = {"data": [Path(source.image).name for source in sources],
                  "recipe": json.loads(json.dumps(asdict(config), default=str)),
                  "date": datetime.date.today().isoformat(),
                  "versions": {"torch": torch.__version__, "segmentation_models_pytorch": smp.__version__}}
    results = []
    count = len(config.members)
    for index, spec in enumerate(config.members):
        hooks.log(f"Training {spec.name} ({index + 1}/{count}), loss {spec.training_loss}.")
        results.append(train_member(spec, sampler, validation, config, folder, provenance,
                                    hooks.span(100 * index / count, 100 * (index + 1) / count)))
    # The paper weighs members by validation score; lower is better, so weight = 1 / score.
    weights = [1.0 / max(result.score, 1e-3) if result.score is not None else 1.0 for result in results]
    manifest = folder / "ensemble.json"
    if rank == 0:
        manifest = write_manifest(manifest, [(str(result.path), weight) for result, weight in zip(results, weights)])
    return TrainResult(results, manifest)
