"""Labels from what users have: coastline lines (and optionally land polygons) rasterized on a scene's grid.

Two label forms (mission step 2): `coast`, a softened line (1 on the coastline, a narrow Gaussian across it,
0 far away), and `classes`, 0 sea / 1 no-data / 2 land (3 = coast in the 4-class variant, added on the fly).

Which side of a line is sea: a label raster or land polygons decide when given. Otherwise the lines (with
no-data and the scene border) cut the scene into regions, and each region is sea when its median
backscatter is below the scene's Otsu threshold (water is dark in SAR; the threshold adapts to the
scene's calibration). Lines that do not cut the scene leave no side to decide: that is an error, not a
scene of sea. A scene without any line (all sea or all land, by SEA_DB_THRESHOLD) is allowed, with a warning.
The rule and what it decided are reported back to the user.

Labels stream like the classical method: the scene is read in strips (with halos of rows where a neighbourhood
matters) and written to a label raster, which training then reads in windows. No whole-scene array is held, so
memory does not grow with the scene; what is kept grows with the lines and the number of regions only.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..core.errors import InputError
from ..core.hooks import RunHooks, as_hooks
from ..core.imaging.regions import SeamUnionFind
from ..core.imaging.speckle import ONE_LOOK_SIGMA_PX, despeckled_strips
from ..core.imaging.threshold import DbHistogram
from ..core.io.gdal import closing_errors
from ..core.io.georef import map_to_pixel
from ..core.io.readers import open_scene
from ..core.io.scene import Scene, strip_height_for
from ..core.io.writing import output_error, partial_path, remove_quietly

SEA, NODATA, LAND, COAST = 0, 1, 2, 3
SEA_DB_THRESHOLD = -15.0  # between calm/wind-roughened sea (-25..-14 dB) and land (-11..-2 dB)
COAST_SIGMA_PX = 2.0
LABEL_FORMAT = 2  # part of the cache key: raise it when the labels made from the same inputs change
CLASSES_BAND, COAST_BAND = 1, 2
REPORT_METADATA = "SAR_COASTLINE_LABEL_REPORT"  # the notes and warnings, kept in the raster for the runs reusing it
_ON_LINE = 255  # a valid line pixel whose side is not decided yet
NEAREST_REGION_ROWS = 8  # a line pixel's nearest region pixel is sought this many rows around its strip
LINE_END_GAP_PX = 3  # lines ending this close to the border or no-data cut the scene there


@dataclass
class LabelReport:
    notes: list[str] = field(default_factory=list)  # what was decided
    warnings: list[str] = field(default_factory=list)  # what the user must check: likely not what they meant


@dataclass
class LabelRaster:
    """A scene's labels on its grid: band 1 classes (SEA, NODATA, LAND), band 2 coast (0..255 = 0..1), uint8."""

    path: Path
    report: LabelReport


class LinePixels:
    """The pixels the lines pass through (densified at a quarter pixel) as sorted flat indices, so the mask of
    any band of rows is made without a whole-scene array."""

    def __init__(self, lines: list[np.ndarray], geotransform: tuple[float, ...], width: int, height: int):
        self.width, self.height = width, height
        indices = [np.empty(0, np.int64)]
        for line in lines:
            x, y = map_to_pixel(geotransform, line[:, 0], line[:, 1])
            steps = np.maximum(np.ceil(np.hypot(np.diff(x), np.diff(y)) * 4).astype(int), 1)
            fractions = [np.arange(count) / count for count in steps]
            xs = np.concatenate([x0 + (x1 - x0) * f for x0, x1, f in zip(x[:-1], x[1:], fractions)] + [x[-1:]])
            ys = np.concatenate([y0 + (y1 - y0) * f for y0, y1, f in zip(y[:-1], y[1:], fractions)] + [y[-1:]])
            cols, rows = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
            inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
            indices.append(np.unique(rows[inside] * width + cols[inside]))
        self.indices = np.unique(np.concatenate(indices))

    def any(self) -> bool:
        return self.indices.size > 0

    def mask(self, top: int, bottom: int) -> np.ndarray:
        """Boolean mask of rows top..bottom."""
        mask = np.zeros((bottom - top) * self.width, bool)
        first, last = np.searchsorted(self.indices, [top * self.width, bottom * self.width])
        mask[self.indices[first:last] - top * self.width] = True
        return mask.reshape(bottom - top, self.width)

    def coast(self, row: int, rows: int, sigma_px: float) -> np.ndarray:
        """exp(-0.5 (d / sigma)^2) of the distance d to the nearest line pixel, for rows row..row+rows. Line pixels
        beyond the halo of ceil(4 sigma) rows are farther than 4 sigma: their value rounds to 0 in uint8 anyway."""
        halo = math.ceil(4.0 * sigma_px)
        top, bottom = max(0, row - halo), min(self.height, row + rows + halo)
        barrier = self.mask(top, bottom)
        if not barrier.any():
            return np.zeros((rows, self.width))
        distance = ndimage.distance_transform_edt(~barrier)[row - top:row - top + rows]
        return np.exp(-0.5 * (distance / sigma_px) ** 2)


def label_raster(scene: Scene, lines: list[np.ndarray], folder: str | os.PathLike, land_polygons=None,
                 land_path: str | None = None, coast_sigma_px: float = COAST_SIGMA_PX, hooks: RunHooks | None = None,
                 strip_height: int | None = None) -> LabelRaster:
    """The scene's label raster in `folder`, made strip by strip; one made before from the same inputs (its name
    holds their hash) is reused while it is newer than the image and the land raster. `land_path` names a label
    raster (0 sea, 1 no-data, 2 land) on the image's grid that decides the sides; cancel is checked per strip."""
    key = _inputs_key(scene, lines, land_polygons, land_path, coast_sigma_px)
    path = Path(folder) / f"{scene.name}.labels-{key}.tif"
    cached = _cached_report(path, [scene.path] + ([land_path] if land_path else []))
    if cached is not None:
        return LabelRaster(path, cached)
    land_scene = None
    if land_path:
        land_scene = open_scene(land_path)
        if (land_scene.width, land_scene.height) != (scene.width, scene.height):
            raise InputError(f"The label raster '{land_scene.name}' is {land_scene.width} x {land_scene.height} px, "
                             f"the image {scene.width} x {scene.height} px: give labels on the image's grid.")
    report = LabelReport()
    strips = label_strips(scene, lines, report, land_polygons, land_scene, coast_sigma_px, strip_height, hooks)
    _write_label_raster(path, scene, strips, report)
    return LabelRaster(path, report)


def label_strips(scene: Scene, lines: list[np.ndarray], report: LabelReport, land_polygons=None,
                 land_scene: Scene | None = None, coast_sigma_px: float = COAST_SIGMA_PX,
                 strip_height: int | None = None, hooks: RunHooks | None = None
                 ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, classes, coast) strip by strip down the scene, both uint8; `report` is complete once the
    strips are. `land_scene` (band values, 2 = land) or else `land_polygons` decide the sides, else the regions."""
    hooks = as_hooks(hooks)
    strip_height = min(scene.height, strip_height or strip_height_for(scene.width))
    line_pixels = LinePixels(lines, scene.geotransform, scene.width, scene.height)
    if land_scene is not None:
        report.notes.append("Sea and land sides taken from the label raster.")
        classes_strips = _classes_by_land(scene, strip_height,
                                          lambda row, rows: land_scene.read(0, row, land_scene.width, rows) == LAND)
    elif land_polygons:
        report.notes.append("Sea and land sides taken from the land polygons.")
        classes_strips = _classes_by_land(scene, strip_height, _polygon_land(land_polygons, scene))
    else:
        classes_strips = _classes_by_regions(scene, line_pixels, strip_height, report, hooks)
    counts = np.zeros(3, np.int64)
    for row, classes in classes_strips:
        hooks.check_cancel()
        coast = line_pixels.coast(row, len(classes), coast_sigma_px)
        coast[classes == NODATA] = 0.0
        counts += np.bincount(classes.ravel(), minlength=3)
        yield row, classes, np.round(coast * 255).astype(np.uint8)
    if not line_pixels.any():
        side = "land" if counts[LAND] >= counts[SEA] else "sea"
        report.warnings.append(f"No coastline line in this scene: all of it is labelled {side}. Check that the lines "
                               "layer covers this scene.")


def _classes(valid: np.ndarray, land: np.ndarray) -> np.ndarray:
    return np.where(valid, np.where(land, LAND, SEA), NODATA).astype(np.uint8)


def _classes_by_land(scene: Scene, strip_height: int, land_of_rows: Callable[[int, int], np.ndarray]
                     ) -> Iterator[tuple[int, np.ndarray]]:
    for row in range(0, scene.height, strip_height):
        rows = min(strip_height, scene.height - row)
        yield row, _classes(np.isfinite(scene.read_db(0, row, scene.width, rows)), land_of_rows(row, rows))


def _polygon_land(polygons, scene: Scene) -> Callable[[int, int], np.ndarray]:
    """Rows row..row+rows: whether each pixel's centre lies inside any of the (shapely) polygons."""
    import shapely

    union = shapely.union_all(list(polygons))
    shapely.prepare(union)
    gt = scene.geotransform

    def land_of_rows(row: int, rows: int) -> np.ndarray:
        rows_index, cols = np.mgrid[row:row + rows, 0:scene.width] + 0.5
        xs = gt[0] + cols * gt[1] + rows_index * gt[2]
        ys = gt[3] + cols * gt[4] + rows_index * gt[5]
        return shapely.contains_xy(union, xs, ys)

    return land_of_rows


def _classes_by_regions(scene: Scene, line_pixels: LinePixels, strip_height: int, report: LabelReport,
                        hooks: RunHooks) -> Iterator[tuple[int, np.ndarray]]:
    """Sides by the regions the lines cut (see the module). Pass 1 sizes up the regions, their dB histograms and
    the Otsu threshold; pass 2 labels the strips again and gives each line pixel its nearest region pixel's side."""
    regions = RegionMedians()
    histogram = DbHistogram()
    for row, db, smoothed in despeckled_strips(scene, ONE_LOOK_SIGMA_PX, strip_height):
        hooks.check_cancel()
        histogram.add(smoothed)
        valid = np.isfinite(db)
        regions.add(valid & ~line_pixels.mask(row, row + len(db)) & ~_frame(scene, valid, row), db)
    regions.finish()
    if regions.count == 1 and line_pixels.any():
        raise InputError("The coastline lines do not cut the scene into sea and land (they end inside it), so no "
                         "side can be told from the other. Give land polygons, or lines that cross the scene "
                         "from edge to edge (or close around islands).")
    # One region and no line: one side, told by a fixed threshold (label_strips warns).
    threshold = histogram.otsu_threshold() if regions.count > 1 else SEA_DB_THRESHOLD
    if regions.count > 1:
        sea_regions = regions.count_below(threshold)
        report.notes.append(
            f"No land polygons: the lines cut the scene into {regions.count} region(s); {sea_regions} with a median "
            f"backscatter below {threshold:.1f} dB were labelled sea, the others land. Give land polygons where this "
            "rule is wrong (e.g. dark land such as wet sand, or bright wind-roughened sea).")

    def sides() -> Iterator[tuple[int, np.ndarray]]:
        for index, row in enumerate(range(0, scene.height, strip_height)):  # cancel: checked by label_strips
            rows = min(strip_height, scene.height - row)
            valid = np.isfinite(scene.read_db(0, row, scene.width, rows))
            on_line = line_pixels.mask(row, row + rows) | _frame(scene, valid, row)
            labels, medians = regions.labels_and_medians(index, valid & ~on_line)
            side = np.where(medians >= threshold, LAND, SEA).astype(np.uint8)[labels]  # label 0's NaN: unused
            side[~valid] = NODATA
            side[valid & on_line] = _ON_LINE
            yield row, side

    # Line pixels take the side of their nearest region pixel. Lines are a pixel or two wide, so it lies within a
    # few rows (unless the line runs through no-data, which is labelled no-data anyway).
    for row, block, offset, rows in _with_halo(sides(), NEAREST_REGION_ROWS):
        yield row, _settle_line_pixels(block, offset, rows)


def _frame(scene: Scene, valid: np.ndarray, row: int) -> np.ndarray:
    """Pixels of a strip within LINE_END_GAP_PX of the scene border or of no-data: lines drawn up to a margin
    short of the border or of no-data still cut the scene there. They take the side of their nearest region
    pixel, like line pixels. The rows around the strip are read for the no-data, so strips do not matter."""
    gap = LINE_END_GAP_PX
    top, bottom = max(0, row - gap), min(scene.height, row + len(valid) + gap)
    around = np.concatenate([np.isfinite(scene.read_db(0, top, scene.width, row - top)), valid,
                             np.isfinite(scene.read_db(0, row + len(valid), scene.width,
                                                       bottom - row - len(valid)))])
    frame = ndimage.binary_dilation(~around, iterations=gap)[row - top:row - top + len(valid)]
    frame[:, :gap] = frame[:, -gap:] = True
    rows = row + np.arange(len(valid))
    frame[(rows < gap) | (rows >= scene.height - gap)] = True
    return frame


def _settle_line_pixels(block: np.ndarray, offset: int, rows: int) -> np.ndarray:
    """The strip at `offset` in `block`, each _ON_LINE pixel given the side of its nearest region pixel."""
    strip = block[offset:offset + rows].copy()
    on_line = strip == _ON_LINE
    if not on_line.any():
        return strip
    region = (block == SEA) | (block == LAND)
    if not region.any():
        strip[on_line] = SEA
        return strip
    nearest_rows, nearest_cols = ndimage.distance_transform_edt(~region, return_distances=False,
                                                                return_indices=True)[:, offset:offset + rows]
    strip[on_line] = block[nearest_rows[on_line], nearest_cols[on_line]]
    return strip


def _with_halo(strips: Iterator[tuple[int, np.ndarray]], halo: int) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """(first row, block, strip offset in the block, strip rows) for consecutive strips given top to bottom; the
    block adds up to `halo` rows of the neighbouring strips on each side, so a strip waits for those below."""
    buffer, top, waiting = None, 0, deque()

    def cut(row: int, rows: int) -> tuple[int, np.ndarray, int, int]:
        start = max(top, row - halo)
        return row, buffer[start - top:row + rows + halo - top], row - start, rows

    for row, strip in strips:
        buffer = strip if buffer is None else np.concatenate([buffer, strip])
        waiting.append((row, len(strip)))
        end = row + len(strip)
        while waiting and sum(waiting[0]) + halo <= end:
            yield cut(*waiting.popleft())
        keep_from = (waiting[0][0] if waiting else end) - halo
        if keep_from > top:
            buffer, top = buffer[keep_from - top:], keep_from
    while waiting:
        yield cut(*waiting.popleft())


class RegionMedians:
    """Medians of dB of the 4-connected regions of a mask fed strip by strip (top to bottom), in bounded memory.

    The approach of core.imaging.regions.RegionSizes, 4-connected (a line's diagonal steps must cut) and with a
    0.1 dB histogram per region instead of a size. Regions inside one strip get their median there. Regions
    touching a strip's first or last row get an id and are merged across seams with the same SeamUnionFind,
    their histograms added at the root; a region's histogram becomes its median once it cannot grow (no pixel on the
    last row fed). `labels_and_medians` labels a strip's mask again (the same mask gives the same labels).
    """

    LOW, STEP, BINS = -100.0, 0.1, 1600  # values beyond -100..+60 dB (no backscatter) count in the end bins

    def __init__(self):
        self.first_ids: list[int] = []  # per strip: the id of its first seam region
        self.seams: list[np.ndarray] = []  # per strip: its seam labels
        self.medians: list[np.ndarray] = []  # per strip: per label, its median (seam labels once resolved)
        self.union = SeamUnionFind()
        self.histograms: dict[int, np.ndarray] = {}  # root id: counts, for regions that may still grow
        self.root_medians: dict[int, float] = {}  # root id: median, for complete regions
        self.last_row_ids: np.ndarray | None = None
        self.interior_count = 0

    def add(self, mask: np.ndarray, db: np.ndarray) -> None:
        labels, count = ndimage.label(mask)
        seam = np.unique(np.concatenate([labels[0], labels[-1]]))
        seam = seam[seam > 0]
        keys, counts = np.unique(labels[mask].astype(np.int64) * self.BINS + self._bins(db[mask]), return_counts=True)
        groups, bins = np.divmod(keys, self.BINS)
        self.medians.append(np.concatenate([[np.nan], self._grouped_medians(groups - 1, bins, counts)]))
        first = self.union.new_ids(len(seam))
        self.first_ids.append(first)
        self.seams.append(seam)
        self.interior_count += count - len(seam)
        on_seam = np.isin(groups, seam)
        dense = np.bincount(np.searchsorted(seam, groups[on_seam]) * self.BINS + bins[on_seam],
                            weights=counts[on_seam], minlength=len(seam) * self.BINS)
        for offset, histogram in enumerate(dense.reshape(len(seam), self.BINS)):
            self.histograms[first + offset] = histogram
        ids = np.full(count + 1, -1, np.int64)
        ids[seam] = np.arange(first, first + len(seam))
        if self.last_row_ids is not None:
            for kept, merged in self.union.join_rows(self.last_row_ids, ids[labels[0]], diagonal=False):
                self.histograms[kept] += self.histograms.pop(merged)  # 4-connected: a line's diagonal steps cut
        self.last_row_ids = ids[labels[-1]]
        live = {self.union.root(node) for node in np.unique(self.last_row_ids[self.last_row_ids >= 0]).tolist()}
        self._complete([root for root in self.histograms if root not in live])

    def finish(self) -> None:
        """After the last strip: every region is complete; the seam labels get their region's median."""
        self._complete(list(self.histograms))
        for first, seam, medians in zip(self.first_ids, self.seams, self.medians):
            medians[seam] = [self.root_medians[self.union.root(node)] for node in range(first, first + len(seam))]

    @property
    def count(self) -> int:
        return self.interior_count + len(self.root_medians)

    def count_below(self, threshold: float) -> int:
        interior = 0
        for seam, medians in zip(self.seams, self.medians):
            below = medians < threshold
            below[seam] = False
            interior += int(np.count_nonzero(below))
        return interior + sum(median < threshold for median in self.root_medians.values())

    def labels_and_medians(self, index: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Strip `index`'s labels (of the same mask as given to add) and per label its region's median."""
        labels, _count = ndimage.label(mask)
        return labels, self.medians[index]

    def _bins(self, db: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((db - self.LOW) / self.STEP), 0, self.BINS - 1).astype(np.int64)

    @classmethod
    def _grouped_medians(cls, groups: np.ndarray, bins: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Per group 0..n-1 (`groups` sorted, every group present), the median of its binned values as np.median
        takes it (the mean of the two middle ones for an even count), each value at its bin's centre."""
        totals = np.bincount(groups, weights=counts).astype(np.int64)
        starts = np.cumsum(totals) - totals
        cumulative = np.cumsum(counts)

        def value_at(rank: np.ndarray) -> np.ndarray:
            return cls.LOW + (bins[np.searchsorted(cumulative, starts + rank, side="right")] + 0.5) * cls.STEP

        return (value_at((totals - 1) // 2) + value_at(totals // 2)) / 2

    def _complete(self, roots: list[int]) -> None:
        for root in roots:
            histogram = self.histograms.pop(root)
            filled = np.flatnonzero(histogram)
            self.root_medians[root] = float(self._grouped_medians(np.zeros(len(filled), np.int64), filled,
                                                                  histogram[filled])[0])


def _inputs_key(scene: Scene, lines: list[np.ndarray], land_polygons, land_path: str | None,
                coast_sigma_px: float) -> str:
    """A hash of everything the labels are made from, but the files' contents (their dates are checked)."""
    import shapely

    digest = hashlib.sha256(json.dumps({
        "format": LABEL_FORMAT, "image": os.path.abspath(scene.path), "band": scene.band,
        "size": [scene.width, scene.height], "geotransform": list(scene.geotransform),
        "calibration_db": scene.calibration_db, "land_path": land_path and os.path.abspath(land_path),
        "coast_sigma_px": coast_sigma_px}).encode())
    for line in lines:
        digest.update(np.int64(len(line)).tobytes())  # where one line ends and the next begins
        digest.update(np.ascontiguousarray(line, np.float64).tobytes())
    for polygon in land_polygons or []:
        digest.update(b"polygon" + shapely.to_wkb(polygon))
    return digest.hexdigest()[:16]


def _cached_report(path: Path, inputs: list[str]) -> LabelReport | None:
    """The report of a label raster made before, if it is newer than every input file."""
    from osgeo import gdal

    gdal.UseExceptions()
    try:
        made = path.stat().st_mtime
        if not all(made > os.stat(source).st_mtime for source in inputs):
            return None
        dataset = gdal.OpenEx(str(path), gdal.OF_RASTER)
        saved = json.loads(dataset.GetMetadataItem(REPORT_METADATA))
        return LabelReport(saved["notes"], saved["warnings"])
    except (OSError, RuntimeError, TypeError, ValueError, KeyError):  # absent, an input gone, or not ours: make it
        return None


def _write_label_raster(path: Path, scene: Scene, strips: Iterator[tuple[int, np.ndarray, np.ndarray]],
                        report: LabelReport) -> None:
    """Written under a temporary name and renamed once complete: an interrupted run leaves no label raster."""
    from osgeo import gdal

    gdal.UseExceptions()
    temporary = partial_path(path)
    dataset = None
    failure = None
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            dataset = gdal.GetDriverByName("GTiff").Create(
                str(temporary), scene.width, scene.height, 2, gdal.GDT_Byte,
                options=["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
            dataset.SetGeoTransform(scene.geotransform)
            dataset.SetProjection(scene.crs_wkt)
            dataset.GetRasterBand(CLASSES_BAND).SetDescription("classes: 0 sea, 1 no data, 2 land")
            dataset.GetRasterBand(COAST_BAND).SetDescription("coast: 0..255")
            # Whole rows of tiles at a time, then flushed: no tile is compressed twice, and GDAL's block cache (which
            # would otherwise keep what was written, up to a share of the RAM) stays small.
            block_rows = dataset.GetRasterBand(CLASSES_BAND).GetBlockSize()[1]
            pending, first = np.empty((2, 0, scene.width), np.uint8), 0
            for row, classes, coast in strips:
                pending = np.concatenate([pending, np.stack([classes, coast])], axis=1)
                end = row + len(classes)
                ready = end if end == scene.height else end - end % block_rows
                if ready > first:
                    for band, values in zip((CLASSES_BAND, COAST_BAND), pending[:, :ready - first]):
                        dataset.GetRasterBand(band).WriteArray(values, 0, first)
                    dataset.FlushCache()
                    pending, first = pending[:, ready - first:], ready
            dataset.SetMetadataItem(REPORT_METADATA, json.dumps({"notes": report.notes, "warnings": report.warnings}))
            dataset.FlushCache()
            with closing_errors() as errors:  # closing writes the TIFF's directory, which can fail too
                dataset = None
            if errors:
                raise errors[0]
            os.replace(temporary, path)
        except (OSError, RuntimeError) as error:
            # A GDAL error is kept as text: its traceback holds a band, which would hold the file open.
            failure = error if isinstance(error, OSError) else str(error)
    finally:
        with closing_errors():  # a failed file fails to close too: nothing new to say
            dataset = None
        remove_quietly(temporary)
    if failure is not None:
        raise output_error(path, failure, "the training labels")
