"""How tests/data/labrador_s1_reference_manual.gpkg was made: a second reference coastline for the Sentinel-1
test chip (tests/data/labrador_s1_chip.tif), digitized by eye, independent of any threshold method.

Why: the first reference (labrador_s1_reference.gpkg, see make_real_chip.py) was traced by a threshold on the
cross-pol band smoothed with a 4 px Gaussian, which favours threshold methods. This one was placed vertex by vertex.

Who and how: an agent session tracing by eye on enlarged renderings, session of 2026-12-07. No threshold, contour,
edge detector, classifier or fitted curve placed the line: the vertices below were chosen and typed in by hand.
What was looked at:
  - both bands in dB (10 log10 power), 2-98 % percentile stretch, raw and as 3x3, 5x5 and 7x7 means of the
    power (speckle reduction for viewing only), the whole chip at ~3x and windows of 20-130 px at 6-25x, with a
    pixel grid labelled every 8 or 16 px; a colour composite (R co-pol, G cross-pol, B co/cross ratio in dB) and
    the co/cross ratio alone (the open sea has the higher ratio), as a cue where the bands disagree;
  - where the edge is soft, the local 2x2 and 4x4 pixel means of both bands printed as tables of dB values and
    read row by row, the way an analyst reads pixel values with an identify tool: the vertex goes where both bands
    change from the local land level to the local sea level, judged case by case (land and sea levels differ
    along the coast; no fixed value was used), with the shape context deciding the doubtful cells;
  - the traced line drawn back over those windows and corrected where it sat off the visible water line (several
    rounds: the first draft, made from the pictures only, was 1-8 px off in the eastern bays and along the
    south-west shore), and finally docs/real_chip_manual_reference.png (this script with --picture).
  The threshold reference had been seen once at the start (docs/real_chip.png) and was drawn in the check
  overlays after the first draft, to compare, not to copy; where the two differ the line follows the image.

What is traced: the instantaneous water line of the sea only, the sea being the open water reaching the image
border (top, top right and bottom right). Inland lakes are left out: the dark patches inside the land mass
(e.g. columns 130-180, rows 64-112), the narrow dark streaks near the left border, a dark patch at columns
116-128, rows 150-156 and one at columns 100-110, rows 176-180, none of which reaches the sea. Islands: one small
islet (or rock, ~7 x 5 px, bright in both bands) in the first north-east bay at column ~240, row ~35, as a
closed ring. Left out as too doubtful: single-pixel bright targets in the sea (columns 173 and 192, row 184:
ships or rocks), a ~10 x 4 px patch bright in co-pol but only slightly in cross-pol off the south-east shore
(columns 124-136, rows 184-188), and a ~3 px patch on the left border at row ~34.

Result: two lines, 242 vertices: the mainland coast (232 vertices) from the left border (column 0, row 43) to
the bottom border (column 34, row 256), a vertex every 4 px along straight coast and every 1-3 px in bends; and
the islet ring (10 vertices).

Uncertainty: about +-1 px where the edge is sharp (north-west and north coasts, the north-east finger); +-2-3 px
where it is blurred or the land is dark, i.e. the eastern bays and peninsulas (columns 200-256, rows 20-135,
where the shore is ragged and a narrow inlet at rows 100-105 was judged real), the south-east shore (columns
105-175, rows 135-200) and the south-west shore (rows 196-256, where the land is only mid-grey in cross-pol).
The largest doubt is the strip at columns 112-150, rows 146-166: dark in co-pol, mid-grey in cross-pol and of low
co/cross ratio, judged land here (the threshold reference makes it water, up to ~10 px landward of this line).
Elsewhere the threshold reference lies ~1-2 px seaward of this line along the sharp north coast and cuts the
tips of the eastern peninsulas and the finger short (its 4 px smoothing).

Pixel coordinates (col, row) have (0, 0) at the top-left corner of the top-left pixel; the geotransform is the
chip's (local UTM grid, EPSG:32621, 10 m pixels).

    PYTHONPATH=.pkg .venv/bin/python -m sar_coastline.scripts.make_real_chip_manual_reference [--picture]
"""

import io
import sys
from pathlib import Path

import numpy as np

from ..core.io.georef import map_to_pixel, pixel_to_map
from ..core.io.vectors import read_lines
from ..core.lines.vectorize import Coastline, write_lines

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CHIP = DATA / "labrador_s1_chip.tif"
OUTPUT = DATA / "labrador_s1_reference_manual.gpkg"
THRESHOLD_REFERENCE = DATA / "labrador_s1_reference.gpkg"
PICTURE = ROOT / "docs" / "real_chip_manual_reference.png"
GEOTRANSFORM = (500_000.0, 10.0, 0.0, 5_900_000.0, 0.0, -10.0)
EPSG = 32621

# Vertices (col, row) in pixel coordinates, (0, 0) the top-left corner of the top-left pixel.
MAINLAND = [
    (0, 43), (3, 43.5), (5, 46.5), (8, 48.5), (12, 47.5), (16, 45.5), (20, 43.5), (24, 41.5), (28, 40), (32, 39),
    (36, 38), (40, 37.5), (44, 35.5), (48, 34.8), (52, 33.6), (56, 32.7), (60, 31.8), (64, 31.5), (68, 30.4),
    (72, 30.4), (76, 29.8), (80, 29.5), (84, 28.2), (88, 27.8), (92, 27.8), (96, 26.8), (100, 25.5), (104, 23.8),
    (108, 21.8), (112, 20.8), (116, 19.8), (120, 16.5), (124, 14), (128, 14.5), (132, 14), (136, 15.3), (140, 15.8),
    (144, 16.5), (148, 17), (152, 16.5), (156, 16.8), (160, 15.8), (164, 15.2), (168, 15.8), (172, 16.5), (176, 16.8),
    (180, 17.5), (184, 17), (188, 16.6), (192, 16.8), (196, 17.2), (200, 18.5), (204, 18.5), (208, 18.2), (212, 16.5),
    (216, 14.2), (220, 13.6), (224, 13.8), (228, 13.2), (232, 12), (236, 12), (240, 11.8), (244, 11), (248, 10.6),
    (251, 11), (252.5, 12.5), (252.5, 15), (250, 16.3), (246, 16.3), (242.5, 16.5), (242, 19), (240.5, 21), (236, 22),
    (232, 22.5), (232.5, 25), (229.5, 26.5), (229, 29), (231, 30), (234.5, 31), (235, 33), (232, 34), (227, 34.5),
    (224.5, 35.5), (224.5, 37), (225, 39), (226, 41), (228, 42.5), (231, 43.5), (235, 45), (237.8, 47), (241, 49),
    (244, 51), (244.5, 53), (244.5, 55), (243.5, 57), (242, 58), (236, 58), (230, 58), (225, 58), (221, 58.5),
    (218.5, 61), (216.5, 63), (213, 64), (210, 65), (206, 66), (202, 67), (203.5, 69), (208.5, 71), (211, 73),
    (216.5, 75), (223, 77), (226.5, 79.5), (224.5, 82), (220, 85), (221.5, 87), (228.5, 89), (230, 91), (233.5, 93),
    (232.5, 95.5), (232, 97.5), (230, 99.5), (228, 100), (221, 100.5), (218, 102), (217, 103.5), (219, 105.5),
    (223, 105.5), (225, 104), (227, 104), (228.5, 105.5), (230, 104.5), (235, 104), (237, 103), (240, 103),
    (243.5, 104), (247, 105.5), (253.5, 107), (254.5, 109), (250, 111), (250.5, 113), (250.5, 115), (249.5, 117.5),
    (246, 117.5), (245, 116), (237, 116), (235, 117.5), (230, 118), (226, 118.5), (224, 119), (223, 121),
    (227.5, 123), (227, 125), (223, 127), (220, 129), (220.5, 131), (216, 132), (208.5, 132.5), (206.5, 135),
    (202, 136), (194.5, 137), (187, 138), (179, 139), (177, 141), (172, 143), (173, 145), (170, 146), (164, 146),
    (157, 146), (152, 146.5), (150, 149), (150.5, 151), (150, 153), (145, 155), (140, 156), (136, 157), (136, 159),
    (132, 160), (128.5, 161), (127.5, 163), (125, 165), (122, 166), (116, 166), (112, 166.5), (112.5, 169),
    (114, 171), (114, 173), (114, 175), (118, 177), (124, 179), (124, 181), (122.5, 183), (118, 184.5), (114.5, 185),
    (117, 187), (122, 189), (121.5, 191), (125, 193), (124, 195), (120, 196), (110, 196), (102, 196.5), (99, 197),
    (97.5, 199), (91, 201), (91, 203), (90.5, 205), (92, 207), (91, 209), (83.5, 211), (84.5, 213), (84.5, 215),
    (76, 216.5), (68, 219), (67.5, 221), (66, 223), (67.5, 225), (67.5, 227), (65, 229), (61, 231), (57.5, 233),
    (54.5, 235), (49, 237), (46.5, 239), (47, 241), (46, 243), (43, 245), (40, 247), (40, 249), (38, 251), (36, 253),
    (34.5, 255), (34, 256),
]
# A closed ring: a small islet (or rock) in the first north-east bay, bright in both bands.
ISLET = [
    (237, 34), (239, 33.5), (241.5, 32), (243.5, 32.5), (244, 34.5), (243.5, 36.5), (241.5, 37.5), (239, 36),
    (237, 35.5), (237, 34),
]
LINES = {"mainland": MAINLAND, "islet": ISLET}


def to_map(vertices) -> np.ndarray:
    cols, rows = np.asarray(vertices, float).T
    xs, ys = pixel_to_map(GEOTRANSFORM, cols, rows)
    return np.column_stack([xs, ys])


def main(*options: str) -> None:
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    lines = [Coastline(to_map(vertices), {"name": name}) for name, vertices in LINES.items()]
    write_lines(str(OUTPUT), lines, srs.ExportToWkt())
    print(OUTPUT, f"{len(lines)} lines, {sum(len(v) for v in LINES.values())} vertices")
    if "--picture" in options:
        picture()


def picture() -> None:
    """docs/real_chip_manual_reference.png: the traced line and the threshold reference over both bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from osgeo import gdal
    from PIL import Image
    from scipy import ndimage


    dataset = gdal.Open(str(CHIP))
    old = [np.column_stack(map_to_pixel(GEOTRANSFORM, line[:, 0], line[:, 1]))
           for line in read_lines(f"{THRESHOLD_REFERENCE}:coastline", dataset.GetProjection())]
    figure, axes = plt.subplots(1, 2, figsize=(12, 6.4), dpi=80)
    for ax, band, name in zip(axes, (1, 2), ("band 1, co-pol", "band 2, cross-pol")):
        power = ndimage.uniform_filter(dataset.GetRasterBand(band).ReadAsArray().astype(float), 3)
        db = 10 * np.log10(np.maximum(power, 1e-6))
        low, high = np.percentile(db, [2, 98])
        ax.imshow(db, cmap="gray", vmin=low, vmax=high, extent=(0, db.shape[1], db.shape[0], 0))
        for index, line in enumerate(old):
            ax.plot(line[:, 0], line[:, 1], color="#ff8000", lw=1.4, ls="--",
                    label="threshold reference" if index == 0 else None)
        for index, vertices in enumerate(LINES.values()):
            cols, rows = np.asarray(vertices, float).T
            ax.plot(cols, rows, color="cyan", lw=1.4, label="traced by eye" if index == 0 else None)
        ax.set_title(f"{name} (dB, 3x3 mean)", fontsize=10)
        ax.set_xlabel("column (px, 10 m)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("row (px)", fontsize=8)
    axes[1].legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(colors=128).save(PICTURE, optimize=True)  # speckle: keep it small
    print(PICTURE)


if __name__ == "__main__":
    main(*sys.argv[1:])
