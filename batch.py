"""Extract the coastlines of many scenes into one GeoPackage, on dask.distributed:

    python -m sar_coastline.batch scenes/ --out coast.gpkg                                # local cluster
    python -m sar_coastline.batch scenes/ list.txt a.tif --out coast.gpkg --scheduler tcp://host:8786

The GeoPackage holds a `coastline` layer (every scene's lines, fields scene, date, method, models, confidence,
uncertainty_m, length_m) and a `status` table (scene, source, status, error, seconds, line_count, length, ...).
Run it again with the same --out to finish a batch that stopped: scenes with status ok are skipped.
Ctrl-C cancels the running scenes and keeps those done.
"""

import argparse
import sys

from .core.config import ExtractConfig, InferenceConfig
from .core.errors import Cancelled, CoastlineError
from .core.hooks import RunHooks
from .core.inference.predict import DEVICES, PRECISIONS
from .core.lines.sea import WATER_CHOICES
from .core.methods import registry
from .core.pipeline.batch import BatchConfig, find_scenes, run_batch
from .core.pipeline.cli import add_product_arguments


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sar_coastline.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="SCENE_OR_FOLDER",
                        help="scene files, folders of scenes (not recursive) or .txt lists of paths")
    parser.add_argument("--out", required=True, help="the batch GeoPackage (.gpkg); an existing one is resumed")
    parser.add_argument("--workers", type=int,
                        help="local Dask workers (default: one per GPU, else a few CPU workers); 0 = no Dask, one "
                             "scene at a time in this process")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786, instead of a "
                                            "local cluster")
    parser.add_argument("--threads", type=int, help="torch threads per worker (model methods; default: the cores "
                                                    "shared out between the local workers)")
    parser.add_argument("--method", choices=registry.names(), default=ExtractConfig.method)
    parser.add_argument("--models", nargs="*", default=(), help="model files or an ensemble manifest")
    parser.add_argument("--band", type=int)
    add_product_arguments(parser)
    inference = InferenceConfig()
    parser.add_argument("--batch-size", type=int, default=inference.batch_size, help="tiles per forward pass")
    parser.add_argument("--device", choices=DEVICES, default=inference.device)
    parser.add_argument("--precision", choices=PRECISIONS, default=inference.precision)
    parser.add_argument("--min-length", type=float, default=ExtractConfig.min_length_m, help="metres")
    parser.add_argument("--water", choices=WATER_CHOICES, default=ExtractConfig.water,
                        help="sea: the sea's coast only (lakes and ponds left out); all: every water boundary")
    parser.add_argument("--output-crs", default="",
                        help="CRS of every line (EPSG:n or WKT); default: the first scene's, other scenes reprojected")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 0:
        parser.error("--workers must be 0 or more")
    config = BatchConfig(
        extract=ExtractConfig(method=args.method, models=tuple(args.models), band=args.band,
                              polarisation=args.polarisation, scale=args.scale, calibration_db=args.calibration_db,
                              min_length_m=args.min_length, water=args.water, output_crs=args.output_crs,
                              inference=InferenceConfig(batch_size=args.batch_size, device=args.device,
                                                        precision=args.precision)),
        workers=args.workers, scheduler=args.scheduler, threads=args.threads)
    hooks = RunHooks(log=lambda message: print(message, file=sys.stderr, flush=True))
    try:
        result = run_batch(find_scenes(args.inputs), args.out, config, hooks)
    except KeyboardInterrupt:
        print("Cancelled: the scenes done so far are in the output; run again with the same --out to finish.",
              file=sys.stderr)
        return 130
    except Cancelled as error:
        print(str(error), file=sys.stderr)
        return 130
    except CoastlineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.path)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
