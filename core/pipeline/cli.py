"""Extract coastlines without QGIS (GPU servers, scripts):

    python -m sar_coastline.core.pipeline.cli scene.tif coast.gpkg [--models ensemble.json] [--method orientation_free]
"""

import argparse
import sys
from dataclasses import replace

from ..config import ExtractConfig, InferenceConfig
from ..errors import CoastlineError
from ..hooks import RunHooks
from ..inference.predict import DEVICES, PRECISIONS
from ..io.readers import open_scene
from ..io.scale import SCALES
from ..io.vectors import read_lines
from ..lines.sea import WATER_CHOICES
from ..lines.vectorize import write_lines
from ..methods import registry
from .extract import extract


def add_product_arguments(parser: argparse.ArgumentParser) -> None:
    """How a product's values are read: shared by this command line and the batch one."""
    parser.add_argument("--polarisation", help="for products with several (Sentinel-1 VV, VH, ...)")
    parser.add_argument("--scale", choices=SCALES, default="auto", help="what the values are; auto: detected")
    parser.add_argument("--calibration-db", type=float, help="CF of sigma0 = 10 log10(DN^2) + CF (default: the "
                                                              "sensor's, -83 dB for PALSAR-2)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sar_coastline.core.pipeline.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="SAR raster (GDAL-readable, any georeferencing), a Sentinel-1 .SAFE folder, "
                                      "its zip or manifest.safe, or an ALOS-2 image")
    parser.add_argument("output", help="lines: .gpkg, .shp or .geojson")
    parser.add_argument("--models", nargs="*", default=(), help="model files or an ensemble manifest")
    parser.add_argument("--method", choices=registry.names(), default=ExtractConfig.method)
    parser.add_argument("--band", type=int)
    add_product_arguments(parser)
    parser.add_argument("--output-crs", default="", help="CRS of the lines, e.g. EPSG:32633 (default: the raster's, "
                                                          "or the local UTM zone)")
    parser.add_argument("--scales", type=int, nargs="*", help="crop sides in pixels")
    inference = InferenceConfig()
    parser.add_argument("--overlap", type=float, default=inference.overlap)
    parser.add_argument("--batch-size", type=int, default=inference.batch_size)
    parser.add_argument("--device", choices=DEVICES, default=inference.device)
    parser.add_argument("--precision", choices=PRECISIONS, default=inference.precision)
    parser.add_argument("--smoothing", type=float, default=inference.smoothing_sigma,
                        help="Gaussian sigma on the merged map (cells)")
    parser.add_argument("--min-length", type=float, default=ExtractConfig.min_length_m, help="metres")
    parser.add_argument("--edge-snap", type=float, default=ExtractConfig.edge_snap_px,
                        help="model methods: how far (scene pixels) a line may move onto the image's water/land edge; "
                             "0: off")
    parser.add_argument("--probabilities", help="optional GeoTIFF of the fused probabilities")
    parser.add_argument("--water", choices=WATER_CHOICES, default=ExtractConfig.water,
                        help="sea: the sea's coast only (lakes and ponds left out); all: every water boundary")
    parser.add_argument("--reference", help="a coastline you trust (file.gpkg or file.gpkg:layer); lines farther "
                                            "than --reference-distance from it are dropped")
    parser.add_argument("--reference-distance", type=float, default=ExtractConfig.reference_distance_m,
                        help="metres")
    args = parser.parse_args(argv)
    config = ExtractConfig(
        method=args.method, models=tuple(args.models), band=args.band, polarisation=args.polarisation,
        scale=args.scale, calibration_db=args.calibration_db, output_crs=args.output_crs, min_length_m=args.min_length,
        edge_snap_px=args.edge_snap,
        probabilities_path=args.probabilities, water=args.water, reference_distance_m=args.reference_distance,
        inference=InferenceConfig(scales=tuple(args.scales) if args.scales else None, overlap=args.overlap,
                                  batch_size=args.batch_size, device=args.device, precision=args.precision,
                                  smoothing_sigma=args.smoothing))
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
