"""Extract the coastlines of many scenes into one GeoPackage, on dask.distributed:

    python -m sar_coastline.batch scenes/ --out coast.gpkg                                # local cluster
    python -m sar_coastline.batch scenes/ list.txt a.tif --out coast.gpkg --scheduler tcp://host:8786

The GeoPackage holds a `coastline` layer (every scene's lines, fields scene, date, method, models, confidence,
uncertainty_m, length_m and any a method adds) and a `status` table (scene, source, status, error, seconds,
line_count, length, ...).
Run it again with the same --out to finish a batch that stopped: scenes with status ok are skipped.
Ctrl-C cancels the running scenes and keeps those done.
"""

import argparse
import sys

from .core.config import ExtractConfig
from .core.errors import Cancelled, CoastlineError
from .core.hooks import RunHooks
from .core.pipeline.batch import BatchConfig, find_scenes, run_batch
from .core.pipeline.options import BATCH_OPTIONS, add_arguments, config_from_arguments


def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--models", nargs="*", default=(), help="model files or an ensemble manifest")
    parser.add_argument("--band", type=int)
    parser.add_argument("--output-crs", default="",
                        help="CRS of every line (EPSG:n or WKT); default: the first scene's, other scenes reprojected")
    add_arguments(parser, BATCH_OPTIONS)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 0:
        parser.error("--workers must be 0 or more")
    try:
        extract_config = config_from_arguments(args, ExtractConfig(models=tuple(args.models), band=args.band,
                                                                   output_crs=args.output_crs), BATCH_OPTIONS)
    except CoastlineError as error:
        parser.error(str(error))
    config = BatchConfig(extract=extract_config, workers=args.workers, scheduler=args.scheduler, threads=args.threads)
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
