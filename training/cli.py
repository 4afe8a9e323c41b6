"""Train models without QGIS (GPU servers, the Makefile):

    python -m sar_coastline.training.cli --images a.tif b.tif --lines coast.gpkg --out models/
    python -m sar_coastline.training.cli --generate 8 --out models/    # on generated scenes
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.errors import CoastlineError
from ..models.modelfile import HEADS
from .dataset import CropConfig
from .loop import TrainConfig, TrainSource, train
from .presets import PRESETS

GENERATED_STYLES = ("rocky", "beach", "estuary", "mixed")
TRAINING_SEED_BASE = 1000  # generated training scenes; the accuracy benchmark uses other seeds


def read_lines(path: str, crs_wkt: str) -> list[np.ndarray]:
    """All line parts of a vector file ('file.gpkg' or 'file.gpkg:layer'), reprojected to crs_wkt."""
    from osgeo import ogr, osr

    ogr.UseExceptions()
    name, _, layer_name = path.partition(":")
    dataset = ogr.Open(name)
    layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    target = osr.SpatialReference(wkt=crs_wkt)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = layer.GetSpatialRef()
    transform = None
    if source is not None and not source.IsSame(target):
        source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(source, target)
    lines = []
    for feature in layer:
        geometry = feature.GetGeometryRef().Clone()
        if transform is not None:
            geometry.Transform(transform)
        parts = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())] or [geometry]
        for part in parts:
            points = np.array(part.GetPoints() or [], float)
            if len(points) >= 2:
                lines.append(points[:, :2])
    return lines


def generated_sources(count: int, size: int, folder: Path, seed_base: int = TRAINING_SEED_BASE) -> list[TrainSource]:
    from ..core.synthetic import generate_scene, write_scene

    sources = []
    for index in range(count):
        seed, style = seed_base + index, GENERATED_STYLES[index % len(GENERATED_STYLES)]
        scene = generate_scene(size, size, seed, style)
        paths = write_scene(scene, folder, f"train_{style}_{seed}")
        sources.append(TrainSource(str(paths.image), scene.truth_lines, classes_path=str(paths.labels)))
    return sources


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sar_coastline.training.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", nargs="*", default=(), help="training rasters")
    parser.add_argument("--lines", help="coastline lines for those rasters: file.gpkg or file.gpkg:layer")
    parser.add_argument("--generate", type=int, default=0, help="train on this many generated scenes instead")
    parser.add_argument("--generated-size", type=int, default=2048)
    parser.add_argument("--out", required=True, help="output folder (model files, checkpoints, ensemble.json)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="fast")
    parser.add_argument("--encoder", help="override the preset's encoder")
    parser.add_argument("--head", choices=sorted(HEADS), help="override the preset's head")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50, help="steps per epoch")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model-side", type=int, default=512)
    parser.add_argument("--crop-range", type=int, nargs=2, default=(1024, 1536))
    parser.add_argument("--normalization", choices=("fixed", "scene"), default="scene")
    parser.add_argument("--curriculum-epochs", type=int, default=10)
    parser.add_argument("--validation-share", type=float, default=0.25)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="start from this model file's weights (fine-tuning); same network and head")
    parser.add_argument("--learning-rate", type=float, help="override the preset's learning rate")
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the file size)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.generate:
        sources = generated_sources(args.generate, args.generated_size, out / "generated_scenes")
    else:
        if not args.images or not args.lines:
            parser.error("give --images and --lines, or --generate N")
        from ..core.raster import open_scene

        sources = [TrainSource(image, read_lines(args.lines, open_scene(image).crs_wkt)) for image in args.images]
    members = PRESETS[args.preset]
    if args.encoder:
        members = tuple(replace(member, encoder=args.encoder) for member in members)
    if args.head:
        members = tuple(replace(member, head=args.head) for member in members)
    if args.learning_rate:
        members = tuple(replace(member, learning_rate=args.learning_rate) for member in members)
    config = TrainConfig(members=members, epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size,
                         crop=CropConfig(model_side=args.model_side, crop_range=tuple(args.crop_range),
                                         normalization=args.normalization,
                                         curriculum_epochs=args.curriculum_epochs),
                         validation_share=args.validation_share, device=args.device, seed=args.seed,
                         workers=args.workers, half_precision_files=args.half, init_from=args.init)
    try:
        result = train(sources, config, out, log=lambda message: print(message, flush=True))
    except CoastlineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for member in result.members:
        print(f"{member.path}  validation score {member.score}")
    print(result.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
