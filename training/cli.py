"""Train models without QGIS (GPU servers, the Makefile):

    python -m sar_coastline.training.cli --images a.tif b.tif --lines coast.gpkg --out models/
    python -m sar_coastline.training.cli --images a.tif b.tif --lines a.gpkg b.gpkg:coast --out models/
    python -m sar_coastline.training.cli --generate 8 --out models/    # on generated scenes

On several GPUs or nodes, the same command under torchrun (DDP; --batch-size is the global batch, shared out
between the processes; rank 0 validates, logs and writes; the output folder must be shared by every node):

    torchrun --nproc_per_node 4 -m sar_coastline.training.cli --generate 8 --out models/
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint host:29500 \
        -m sar_coastline.training.cli --images ... --lines ... --out /shared/models/
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.errors import CoastlineError
from ..core.hooks import RunHooks
from ..core.inference.predict import DEVICES
from ..core.io.readers import open_scene
from ..core.io.vectors import read_lines
from ..core.io.writing import create_folder
from ..models.modelfile import NORMALIZATIONS, TRANSFORMS
from ..synthetic.scenes import generate_scene, write_scene
from .dataset import CropConfig
from .loop import TrainConfig, TrainSource, init_distributed, train
from .presets import ARCHITECTURES, ENCODERS, HEAD_CHOICES, PRESETS, MemberSpec

GENERATED_STYLES = ("rocky", "beach", "estuary", "mixed")
# Pixel sizes of generated scenes, one per round of the styles: ALOS-2 3 m, Sentinel-1 GRDH 10 m, 20-40 m
# (GRDM, ScanSAR): one multi-resolution model reads them all at its own crop sides.
GENERATED_PIXEL_SIZES = (3.0, 10.0, 3.0, 20.0, 3.0, 10.0, 3.0, 40.0)
TRAINING_SEED_BASE = 1000  # generated training scenes; the accuracy benchmark uses other seeds


def lines_for(image: str, paths: list[str]) -> list[np.ndarray]:
    """The lines of every file, reprojected to the image's CRS (lines outside the image are harmless)."""

    crs_wkt = open_scene(image).crs_wkt
    return [line for path in paths for line in read_lines(path, crs_wkt)]


def inference_scales(text: str) -> tuple[float, tuple[int, ...]]:
    """'10:256' or '10:256,320': crop sides for scenes of at least 10 m pixels."""
    try:
        from_m, sides = text.split(":")
        return float(from_m), tuple(int(side) for side in sides.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not FROM_M:SIDE[,SIDE...], e.g. 10:256") from None


def choose_members(preset: str, architecture: str | None = None, encoder: str | None = None,
                   head: str | None = None, input_transform: str | None = None,
                   learning_rate: float | None = None) -> tuple[MemberSpec, ...]:
    """The preset's members with the given choices replaced; the loss follows the head (see MemberSpec)."""
    overrides = {"architecture": architecture, "encoder": encoder, "head": head, "input_transform": input_transform,
                 "learning_rate": learning_rate}
    overrides = {name: value for name, value in overrides.items() if value is not None}
    return tuple(replace(member, **overrides) for member in PRESETS[preset])


def generated_sources(count: int, size: int, folder: Path, seed_base: int = TRAINING_SEED_BASE,
                      pixel_sizes: Sequence[float] = GENERATED_PIXEL_SIZES) -> list[TrainSource]:
    sources = []
    for index in range(count):
        seed, style = seed_base + index, GENERATED_STYLES[index % len(GENERATED_STYLES)]
        pixel_size = pixel_sizes[index // len(GENERATED_STYLES) % len(pixel_sizes)]
        scene = generate_scene(size, size, seed, style, pixel_size)
        paths = write_scene(scene, folder, f"train_{style}_{seed}_{pixel_size:g}m")
        sources.append(TrainSource(str(paths.image), scene.truth_lines, classes_path=str(paths.labels)))
    return sources


def main(argv=None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m sar_coastline.training.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", nargs="*", default=(), help="training rasters")
    parser.add_argument("--lines", nargs="*", default=(),
                        help="coastline lines for those rasters, all combined: file.gpkg or file.gpkg:layer, several "
                             "allowed (one per scene is fine)")
    parser.add_argument("--generate", type=int, default=0, help="train on this many generated scenes instead")
    parser.add_argument("--generated-size", type=int, default=2048)
    parser.add_argument("--generated-pixel-sizes", type=float, nargs="+", default=GENERATED_PIXEL_SIZES,
                        help="pixel sizes in m of the generated scenes, one per round of the four styles")
    parser.add_argument("--out", required=True, help="output folder (model files, checkpoints, ensemble.json)")
    parser.add_argument("--preset", choices=list(PRESETS), default="fast")
    parser.add_argument("--architecture", choices=ARCHITECTURES, help="override the preset's architecture")
    parser.add_argument("--encoder", choices=ENCODERS, help="override the preset's encoder")
    parser.add_argument("--head", choices=HEAD_CHOICES, help="override the preset's head (the loss follows it)")
    parser.add_argument("--transform", choices=TRANSFORMS, help="override the preset's input transform")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--steps", type=int, default=defaults.steps_per_epoch, help="steps per epoch")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--model-side", type=int, default=defaults.crop.model_side)
    parser.add_argument("--crop-range", type=int, nargs=2, default=defaults.crop.crop_range)
    parser.add_argument("--normalization", choices=NORMALIZATIONS, default="scene")
    parser.add_argument("--curriculum-epochs", type=int, default=defaults.crop.curriculum_epochs)
    parser.add_argument("--validation-share", type=float, default=0.25)
    parser.add_argument("--device", choices=DEVICES, default=defaults.device)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--init", help="start from this model file's weights (fine-tuning): same network; a "
                        "different head starts its output layer afresh")
    parser.add_argument("--learning-rate", type=float, help="override the preset's learning rate")
    parser.add_argument("--inference-scales", type=inference_scales, nargs="+", default=(), metavar="FROM_M:SIDES",
                        help="crop sides Extract reads with these models on scenes of at least FROM_M m pixels (and "
                             "validation uses), e.g. 10:256 for the model side from 10 m; default: the ends and the "
                             "middle of the crop range at every pixel size")
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the file size)")
    parser.add_argument("--accumulation", type=int, default=defaults.accumulation,
                        help="run each batch as this many parts whose gradients add up (less memory, same batch)")
    args = parser.parse_args(argv)

    if not args.generate and not (args.images and args.lines):
        parser.error("give --images and --lines, or --generate N")
    rank, world = init_distributed(args.device)
    try:
        return _train(args, rank, world)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def _shared_sources(args, out: Path, rank: int, world: int) -> list[TrainSource]:
    """The training sources, made by rank 0 (generated scenes written once) and sent to the other ranks; an
    error on rank 0 reaches every rank, so none waits for ever."""
    sources, failure = None, None
    if rank == 0:
        try:
            if args.generate:
                sources = generated_sources(args.generate, args.generated_size, out / "generated_scenes",
                                            pixel_sizes=args.generated_pixel_sizes)
            else:
                sources = [TrainSource(image, lines_for(image, args.lines)) for image in args.images]
        except CoastlineError as error:
            failure = error
    if world > 1:
        import torch.distributed as dist

        shared = [sources, failure]
        dist.broadcast_object_list(shared, src=0)
        sources, failure = shared
    if failure is not None:
        raise failure
    return sources


def _train(args, rank: int, world: int) -> int:
    out = Path(args.out)
    quiet = rank != 0
    hooks = RunHooks(log=lambda message: quiet or print(message, flush=True),
                     warn=lambda message: quiet or print(f"warning: {message}", file=sys.stderr, flush=True))
    try:
        create_folder(out)
        members = choose_members(args.preset, args.architecture, args.encoder, args.head, args.transform,
                                 args.learning_rate or None)
        config = TrainConfig(members=members, epochs=args.epochs, steps_per_epoch=args.steps,
                             batch_size=args.batch_size,
                             crop=CropConfig(model_side=args.model_side, crop_range=tuple(args.crop_range),
                                             normalization=args.normalization,
                                             curriculum_epochs=args.curriculum_epochs),
                             validation_share=args.validation_share, device=args.device, seed=args.seed,
                             workers=args.workers, half_precision_files=args.half, init_from=args.init,
                             accumulation=args.accumulation,
                             inference_scales=tuple(args.inference_scales))
        result = train(_shared_sources(args, out, rank, world), config, out, hooks)
    except CoastlineError as error:
        print(f"error{f' (rank {rank})' if world > 1 else ''}: {error}", file=sys.stderr)
        return 2
    if quiet:
        return 0
    for member in result.members:
        print(f"{member.path}  validation score {member.score}")
    print(result.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
