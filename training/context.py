"""Training the coarse-to-fine method's context model on scenes generated on the fly.

A separate process generates scenes without end (synthetic/scenes.py: every style, pixel sizes 3-40 m, half of
them with the hard cases oversampled, some dual-pol), reduces each to coarse cells and hands over the context
inputs and the land share per cell. The training loop keeps the latest scenes in a buffer, takes one new scene
per step and draws each batch's crops from the buffer (flips and 90-degree turns), so no fixed set of scenes is
learnt by heart and the generator, not the network, bounds the pace. The run checkpoints every few hundred
steps and resumes from its checkpoint: one long run can be stopped and continued. Validation: the share of
wrongly classed cells on fixed held-out generated scenes (seeds VALIDATION_SEED_BASE+), the best kept.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..core.errors import InputError, OutputError
from ..core.hooks import RunHooks
from ..core.imaging.coarse import CoarseCells, block_mean, cells_of, coarse_factor
from ..core.inference.context import MIN_VALID_SHARE, context_inputs, land_probability
from ..core.io.scene import CF_DB
from ..core.io.writing import create_folder
from ..models.context import ContextMeta, create_network, load_context_model, save_context_model
from ..synthetic.scenes import STYLES, generate_scene
from .checkpoint import read_checkpoint, write_checkpoint

TRAINING_SEED_BASE = 100_000  # far from the default model's (1000+) and the benchmark sets' (3000+, 5000+)
VALIDATION_SEED_BASE = 90_000
PIXEL_SIZES_M = (3.0, 10.0, 20.0, 40.0)
PIXEL_SIZE_SHARES = (0.4, 0.25, 0.2, 0.15)  # most real coast work is at fine pixels; 3 m scenes are the slowest
SIDE_RANGE_PX = (768, 1792)
CHECKPOINT = "context_checkpoint.safetensors"
MODEL = "context.safetensors"


@dataclass(frozen=True)
class ContextRecipe:
    steps: int = 3000
    batch_size: int = 16
    crop_cells: int = 128
    buffer_scenes: int = 48  # the latest scenes that batches are drawn from
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    hard_share: float = 0.5
    dual_pol_share: float = 0.25
    checkpoint_every: int = 250
    validation_scenes: int = 8
    seed: int = 0
    first_scene: int = 0  # where in the scene stream this run starts: a later stage sees scenes an earlier one did not


def _db(dn: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        db = (20.0 * np.log10(dn.astype(np.float32)) + CF_DB).astype(np.float32)
    db[dn == 0] = np.nan
    return db


def scene_example(seed: int, pixel_size_m: float, side: int, style: str, hard: bool, dual_pol: bool,
                  coarse_pixel_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(context inputs (C, rows, cols), target: land share per cell, NaN where the cell is no data)."""
    scene = generate_scene(side, side, seed, style, pixel_size_m, hard=hard, dual_pol=dual_pol)
    factor = coarse_factor(pixel_size_m, coarse_pixel_m)
    bands = [scene.dn] if scene.second_dn is None else [scene.dn, scene.second_dn]
    if scene.second_dn is not None and scene.polarisation == "cross":  # the co-pol band first, as the method reads
        bands.reverse()
    cells = [CoarseCells(*cells_of(_db(band), factor), factor) for band in bands]
    inputs = context_inputs(cells[0], cells[1] if len(cells) > 1 else None)
    land = np.where(scene.labels == 1, np.nan, scene.visible_land.astype(np.float32))
    target = block_mean(land, factor)
    target[cells[0].valid < MIN_VALID_SHARE] = np.nan
    return inputs, target


def drawn_example(index: int, seed_base: int, recipe: ContextRecipe, coarse_pixel_m: float):
    """The index-th scene of a stream: its draws depend only on (seed_base, index), so a resumed run goes on with
    the scenes it had not seen."""
    rng = np.random.default_rng([seed_base, index])
    pixel_size = float(rng.choice(PIXEL_SIZES_M, p=PIXEL_SIZE_SHARES))
    side = int(rng.integers(SIDE_RANGE_PX[0], SIDE_RANGE_PX[1] + 1))
    hard, dual_pol = bool(rng.random() < recipe.hard_share), bool(rng.random() < recipe.dual_pol_share)
    return scene_example(seed_base + index, pixel_size, side, STYLES[index % len(STYLES)], hard, dual_pol,
                         coarse_pixel_m)


def _stream_worker(arguments):
    return drawn_example(*arguments)


def buffer_before(step: int, buffer_scenes: int) -> range:
    """The stream's scenes in the buffer before `step`: scene 0 before the first step, and step s adds scene s + 1,
    so a resumed run refills what an unbroken one holds (its crops differ: their generator restarts at the step)."""
    return range(max(0, step + 1 - buffer_scenes), step + 1)


def stream_indices(recipe: ContextRecipe, step: int, buffer_scenes: int) -> range:
    """The scenes a run starting (or resuming) at `step` draws, in order: the buffer's first."""
    return range(recipe.first_scene + buffer_before(step, buffer_scenes).start, 10**9)


def random_crop(rng: np.random.Generator, inputs: np.ndarray, target: np.ndarray, side: int):
    """A crop of `side` cells (zero-padded where the scene is smaller), flipped and turned at random."""
    _channels, rows, cols = inputs.shape
    top = int(rng.integers(0, max(1, rows - side + 1)))
    left = int(rng.integers(0, max(1, cols - side + 1)))
    crop_inputs = np.zeros((inputs.shape[0], side, side), np.float32)
    crop_target = np.full((side, side), np.nan, np.float32)
    part = inputs[:, top:top + side, left:left + side]
    crop_inputs[:, :part.shape[1], :part.shape[2]] = part
    crop_target[:part.shape[1], :part.shape[2]] = target[top:top + side, left:left + side]
    turns = int(rng.integers(4))
    crop_inputs, crop_target = np.rot90(crop_inputs, turns, axes=(1, 2)), np.rot90(crop_target, turns)
    if rng.random() < 0.5:
        crop_inputs, crop_target = crop_inputs[:, :, ::-1], crop_target[:, ::-1]
    return np.ascontiguousarray(crop_inputs), np.ascontiguousarray(crop_target)


def masked_loss(logits, target):
    """Binary cross-entropy against the land share, over cells with data."""
    import torch

    known = torch.isfinite(target)
    if not bool(known.any()):
        return logits.sum() * 0.0
    return torch.nn.functional.binary_cross_entropy_with_logits(logits[known], target[known])


def validation_error(network, examples, meta: ContextMeta) -> float:
    """Share of cells with data whose land/water call (P 0.5) differs from the majority in the truth."""
    wrong = total = 0
    network.eval()
    for inputs, target in examples:
        probability = land_probability(network, inputs, meta.tile_cells, 2 ** meta.encoder_depth)
        known = np.isfinite(target)
        wrong += int(np.count_nonzero((probability[known] > 0.5) != (target[known] > 0.5)))
        total += int(np.count_nonzero(known))
    network.train()
    return wrong / max(total, 1)


def train(out: Path, recipe: ContextRecipe, meta: ContextMeta, hooks: RunHooks, workers: int = 1,
          init_from: Path | None = None) -> Path:
    """Train (or resume) into `out`; returns the model file (the best validation error so far). `init_from`: a
    context model whose weights a fresh run starts from (a later stage, with its own optimizer and schedule)."""
    import torch

    create_folder(out, "the training folder")
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - workers))
    network = create_network(meta)
    earlier_stage = None
    if init_from is not None:
        earlier_meta, earlier = load_context_model(init_from)
        if replace(earlier_meta, validation={}, provenance={}) != replace(meta, validation={}, provenance={}):
            raise InputError(f"'{init_from}' was trained with other settings than this run's; start from a context "
                             "model of the same network and coarse pixel.")
        network.load_state_dict(earlier.state_dict())
        earlier_stage = {"model": Path(init_from).name, **earlier_meta.provenance}
    optimizer = torch.optim.AdamW(network.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    # Warm-up, then cosine to 0 at the last step: a function of the step alone, so a resumed run may be given more
    # steps and goes on with the longer schedule.
    warmup = max(1, recipe.steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (
        1 + np.cos(np.pi * min(step, recipe.steps) / recipe.steps)))
    checkpoint = out / CHECKPOINT
    progress = {"step": 0, "best_error": None, "seconds": 0.0, "history": []}
    if checkpoint.exists():
        progress = read_checkpoint(checkpoint, {"network": network}, optimizer, scheduler, "cpu")
        hooks.note(f"Resumed from {checkpoint.name} at step {progress['step']} of {recipe.steps}.")
    validation = [drawn_example(index, VALIDATION_SEED_BASE, replace(recipe, hard_share=0.5), meta.coarse_pixel_m)
                  for index in range(recipe.validation_scenes)]
    rng = np.random.default_rng([recipe.seed, progress["step"]])
    held = buffer_before(progress["step"], recipe.buffer_scenes)
    arguments = ((index, TRAINING_SEED_BASE, recipe, meta.coarse_pixel_m)
                 for index in stream_indices(recipe, progress["step"], recipe.buffer_scenes))
    started = time.perf_counter() - progress["seconds"]
    buffer: deque = deque(maxlen=recipe.buffer_scenes)
    model_path = out / MODEL
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        stream = pool.imap(_stream_worker, arguments, chunksize=1)
        while len(buffer) < len(held):
            buffer.append(next(stream))
        network.train()
        losses = []
        for step in range(progress["step"], recipe.steps):
            hooks.check_cancel()
            buffer.append(next(stream))  # one new scene per step: the pace is set by the generator
            crops = [random_crop(rng, *buffer[int(rng.integers(len(buffer)))], recipe.crop_cells)
                     for _ in range(recipe.batch_size)]
            inputs = torch.from_numpy(np.stack([crop[0] for crop in crops]))
            target = torch.from_numpy(np.stack([crop[1] for crop in crops]))[:, None]
            loss = masked_loss(network(inputs), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            done = step + 1
            if done % recipe.checkpoint_every == 0 or done == recipe.steps:
                error = validation_error(network, validation, meta)
                seconds = time.perf_counter() - started
                best = progress["best_error"]
                record = {"step": done, "loss": round(float(np.mean(losses)), 4), "validation_error": round(error, 5),
                          "minutes": round(seconds / 60, 1)}
                progress["history"].append(record)
                hooks.note(json.dumps(record))
                losses = []
                last_saved = (f"the last good checkpoint (step {progress['step']}) and model are whole: run again to "
                              "resume from there" if checkpoint.exists() else "no checkpoint was saved yet")
                try:
                    if best is None or error <= best:
                        progress["best_error"] = error
                        provenance = {"recipe": asdict(recipe), "trained_steps": done, "scenes_seen": done + 1,
                                      "minutes": round(seconds / 60, 1), "device": "cpu",
                                      "cpu_count": os.cpu_count(), "torch": torch.__version__}
                        if earlier_stage is not None:
                            provenance["earlier_stage"] = earlier_stage
                        save_context_model(model_path, network, replace(
                            meta, validation={"cell_error": round(error, 5), "scenes": recipe.validation_scenes,
                                              "seed_base": VALIDATION_SEED_BASE}, provenance=provenance))
                    progress.update(step=done, seconds=seconds)
                    write_checkpoint(checkpoint, {"network": network}, optimizer, scheduler, progress)
                except OutputError as failure:  # the save left the previous files whole
                    raise OutputError(f"{failure} Training stopped at step {done}; {last_saved}.") from None
            hooks.progress(100.0 * done / recipe.steps)
    return model_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoint and the model file; a "
                        "checkpoint there is resumed")
    defaults = ContextRecipe()
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--coarse-pixel-m", type=float, default=ContextMeta.coarse_pixel_m)
    parser.add_argument("--workers", type=int, default=1, help="scene generating processes")
    parser.add_argument("--init-from", type=Path, help="a context model whose weights a fresh run starts from")
    args = parser.parse_args()
    recipe = ContextRecipe(**{name: getattr(args, name) for name in asdict(defaults)})
    meta = ContextMeta(coarse_pixel_m=args.coarse_pixel_m).check()
    path = train(args.out, recipe, meta, RunHooks(log=print), args.workers, args.init_from)
    print(f"Context model: {path}")


if __name__ == "__main__":
    main()
