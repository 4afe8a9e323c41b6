"""Extract coastlines without QGIS (GPU servers, scripts):

    python -m sar_coastline.core.pipeline.cli scene.tif coast.gpkg [--models ensemble.json] [--method orientation_free]
"""

import argparse
import sys
from dataclasses import replace

from ..config import ExtractConfig
from ..errors import CoastlineError
from ..hooks import RunHooks
from ..io.readers import open_scene
from ..io.vectors import read_lines
from ..lines.vectorize import write_lines
from .extract import extract
from .options import add_arguments, config_from_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sar_coastline.core.pipeline.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="SAR raster (GDAL-readable, any georeferencing), a Sentinel-1 .SAFE folder, "
                                      "its zip or manifest.safe, or an ALOS-2 image")
    parser.add_argument("output", help="lines: .gpkg, .shp or .geojson")
    parser.add_argument("--models", nargs="*", default=(), help="model files or an ensemble manifest")
    parser.add_argument("--band", type=int)
    parser.add_argument("--output-crs", default="", help="CRS of the lines, e.g. EPSG:32633 (default: the raster's, "
                                                          "or the local UTM zone)")
    parser.add_argument("--probabilities", help="optional GeoTIFF of the fused probabilities")
    parser.add_argument("--reference", help="a coastline you trust (file.gpkg or file.gpkg:layer); lines farther "
                                            "than --reference-distance from it are dropped")
    add_arguments(parser)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_arguments(args, ExtractConfig(models=tuple(args.models), band=args.band,
                                                           output_crs=args.output_crs,
                                                           probabilities_path=args.probabilities))
    except CoastlineError as error:
        parser.error(str(error))
    last = [-10.0]

    def progress(percent: float) -> None:
        if percent - last[0] >= 10 or percent >= 100:
            last[0] = percent
            print(f"{percent:5.1f} %", file=sys.stderr, flush=True)

    try:
        scene = open_scene(args.input, config.read_options())  # opened once: the reference goes to its CRS
        if args.reference:
            config = replace(config, reference_lines=tuple(read_lines(args.reference, scene.crs_wkt)))
        hooks = RunHooks(progress=progress, log=lambda message: print(message, file=sys.stderr))
        result = extract(scene, config, hooks)
        write_lines(args.output, result.lines, result.scene.crs_wkt)
    except CoastlineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
