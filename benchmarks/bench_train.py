"""make bench-train: the input pipeline's crops per second, and training-step throughput with and without the
real loader (ratio = with loader / model-only step), in one run on one device; then the coarse-to-fine method's
candidate context networks (crops of 128 cells, batch 16, training steps per second in crops/s, each with its ratio
to the shipped one) and the scene stream that feeds them (generated scenes per second). Prints tables, then a JSON
line.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from ..core.hooks import RunHooks
from ..core.inference.predict import pick_device
from ..models.context import CHANNELS, ContextMeta, create_network
from ..models.modelfile import create_model
from ..synthetic.scenes import generate_scene, write_scene
from ..training.context import TRAINING_SEED_BASE, ContextRecipe, drawn_example, masked_loss
from ..training.dataset import CropConfig, CropSampler, to_tensors
from ..training.loop import EpochSamples, TrainSource, make_loss, make_optimizer, member_meta, prepare_scenes
from ..training.presets import FAST_SINGLE

# The shipped context network first (ContextMeta's defaults); the others as alternatives measured beside it.
CONTEXT_CANDIDATES = (
    ("U-Net mobilenet_v2 depth 4 (shipped)", {}),
    ("U-Net efficientnet-b0 depth 4", {"encoder": "efficientnet-b0"}),
    ("U-Net resnet18 depth 4", {"encoder": "resnet18"}),
    ("U-Net efficientnet-b0 depth 5 (the bundled model's network)",
     {"encoder": "efficientnet-b0", "encoder_depth": 5, "decoder_channels": (256, 128, 64, 32, 16)}),
)


def context_rows(device: str, steps: int) -> list[dict]:
    """Training crops per second of each candidate context network, and the scene stream's pace."""
    import torch

    recipe = ContextRecipe()
    rows = []
    inputs = torch.randn(recipe.batch_size, len(CHANNELS), recipe.crop_cells, recipe.crop_cells, device=device)
    target = torch.rand(recipe.batch_size, 1, recipe.crop_cells, recipe.crop_cells, device=device)
    for name, changes in CONTEXT_CANDIDATES:
        meta = ContextMeta(**changes).check()
        network = create_network(meta).to(device).train()
        optimizer = torch.optim.AdamW(network.parameters(), recipe.learning_rate)
        for index in range(steps + 1):
            if index == 1:  # the first step warms up
                started = time.perf_counter()
            loss = masked_loss(network(inputs), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        rate = steps * recipe.batch_size / (time.perf_counter() - started)
        rows.append({"network": name, "parameters_m": round(sum(p.numel() for p in network.parameters()) / 1e6, 2),
                     "crops_per_s": round(rate, 2)})
    for row in rows:
        row["ratio_to_shipped"] = round(row["crops_per_s"] / rows[0]["crops_per_s"], 2)
    started = time.perf_counter()
    scenes = 3
    for index in range(scenes):
        drawn_example(index, TRAINING_SEED_BASE, recipe, ContextMeta.coarse_pixel_m)
    print(f"{'context network':>58} | {'params M':>8} | {'crops/s':>8} | ratio")
    for row in rows:
        print(f"{row['network']:>58} | {row['parameters_m']:8.2f} | {row['crops_per_s']:8.2f} | "
              f"{row['ratio_to_shipped']:.2f}")
    stream = scenes / (time.perf_counter() - started)
    print(f"scene stream (generate + coarse cells, one process): {stream:.2f} scenes/s; training takes one new scene "
          f"per step of {recipe.batch_size} crops")
    return rows + [{"network": "scene stream", "scenes_per_s": round(stream, 3)}]


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 30 on a GPU, 6 on a CPU)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--model-side", type=int, default=512)
    parser.add_argument("--context-only", action="store_true", help="only the context networks (quick)")
    args = parser.parse_args()
    device = pick_device("auto", print)
    context = context_rows(device, 5 if device == "cpu" else 20)
    if args.context_only:
        print(json.dumps({"context": context}))
        return
    steps = args.steps or (30 if device == "cuda" else 6)
    batch_size = args.batch_size or (32 if device == "cuda" else 4)
    spec = FAST_SINGLE[0]
    crop = CropConfig(model_side=args.model_side, crop_range=(2 * args.model_side, 3 * args.model_side))
    with tempfile.TemporaryDirectory() as folder:
        sources = []
        for seed, style in ((31, "rocky"), (32, "estuary")):
            scene = generate_scene(2048, 2048, seed, style)
            sources.append(TrainSource(str(write_scene(scene, folder, f"train_{seed}").image), scene.truth_lines))
        train_scenes, _validation = prepare_scenes(sources, 0.0, RunHooks())
        sampler = CropSampler(train_scenes, crop, seed=0)

        started = time.perf_counter()
        count = 8 * batch_size if device == "cuda" else 2 * batch_size
        for index in range(count):
            sampler.sample(10, index)
        crops_per_s = count / (time.perf_counter() - started)

        meta = member_meta(spec, crop, None, {})
        network = create_model(meta).to(device).train()
        optimizer = make_optimizer(spec, network.parameters())
        loss_function = make_loss(spec)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
        synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def step(inputs, target):
            inputs, target = inputs.to(device, non_blocking=True), target.to(device, non_blocking=True)
            with autocast:
                loss = loss_function(network(inputs).float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        fixed = to_tensors([sampler.sample(10, index) for index in range(batch_size)], spec.head,
                           spec.input_transform, crop.augment.db_window)
        step(*fixed)  # warm-up
        synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            step(*fixed)
        synchronize()
        step_img_s = steps * batch_size / (time.perf_counter() - started)

        loader = torch.utils.data.DataLoader(
            EpochSamples(sampler, 10, (steps + 2) * batch_size), batch_size=batch_size, num_workers=args.workers,
            collate_fn=lambda samples: to_tensors(samples, spec.head, spec.input_transform, crop.augment.db_window),
            pin_memory=device == "cuda", persistent_workers=False, prefetch_factor=4 if args.workers else None)
        batches = iter(loader)
        step(*next(batches))  # warm-up: workers start
        synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            step(*next(batches))
        synchronize()
        loader_step_img_s = steps * batch_size / (time.perf_counter() - started)

    name = torch.cuda.get_device_name(0) if device == "cuda" else f"cpu ({os.cpu_count()} cores)"
    ratio = loader_step_img_s / step_img_s
    print(f"model {Path(meta.encoder).name} {meta.head}, batch {batch_size}, side {crop.model_side}, "
          f"workers {args.workers}, {steps} steps")
    print(f"{'device':>20} | {'crops/s':>8} | {'step img/s':>10} | {'loader step img/s':>17} | {'ratio':>5}")
    print(f"{name:>20} | {crops_per_s:8.2f} | {step_img_s:10.2f} | {loader_step_img_s:17.2f} | {ratio:5.2f}")
    print(json.dumps({"device": name, "crops_per_s": round(crops_per_s, 2), "step_img_s": round(step_img_s, 2),
                      "loader_step_img_s": round(loader_step_img_s, 2), "ratio": round(ratio, 3), "context": context}))


if __name__ == "__main__":
    main()
