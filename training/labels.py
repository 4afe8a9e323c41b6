"""Labels from what users have: coastline lines (and optionally land polygons) rasterized on a scene's grid.

Two label forms (mission step 2): `coast`, a softened line (1 on the coastline, a narrow Gaussian across it,
0 far away), and `classes`, 0 sea / 1 no-data / 2 land (3 = coast in the 4-class variant, added on the fly).

Which side of a line is sea: a land mask or land polygons decide when given. Otherwise the lines (with
no-data and the scene border) cut the scene into regions, and each region is sea when its median
backscatter is below the scene's Otsu threshold (water is dark in SAR; the threshold adapts to the
scene's calibration). Lines that do not cut the scene leave no side to decide: that is an error, not a
scene of sea. A scene without any line (all sea or all land, by SEA_DB_THRESHOLD) is allowed, with a warning.
The rule and what it decided are reported back to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..core.errors import InputError
from ..core.raster import map_to_pixel

SEA, NODATA, LAND, COAST = 0, 1, 2, 3
SEA_DB_THRESHOLD = -15.0  # between calm/wind-roughened sea (-25..-14 dB) and land (-11..-2 dB)
COAST_SIGMA_PX = 2.0


@dataclass
class SceneLabels:
    classes: np.ndarray  # uint8: SEA, NODATA, LAND
    coast: np.ndarray  # uint8: 0..255 = coast probability 0..1 (softened line)
    notes: list[str]  # what was decided
    warnings: list[str]  # what the user must check: the labels are likely not what they meant


def line_pixels(lines: list[np.ndarray], geotransform: tuple[float, ...], shape: tuple[int, int]) -> np.ndarray:
    """Boolean raster of the pixels the lines pass through (densified at a quarter pixel)."""
    mask = np.zeros(shape, bool)
    for line in lines:
        x, y = map_to_pixel(geotransform, line[:, 0], line[:, 1])
        steps = np.maximum(np.ceil(np.hypot(np.diff(x), np.diff(y)) * 4).astype(int), 1)
        fractions = [np.arange(count) / count for count in steps]
        xs = np.concatenate([x0 + (x1 - x0) * f for x0, x1, f in zip(x[:-1], x[1:], fractions)] + [x[-1:]])
        ys = np.concatenate([y0 + (y1 - y0) * f for y0, y1, f in zip(y[:-1], y[1:], fractions)] + [y[-1:]])
        cols, rows = np.floor(xs).astype(int), np.floor(ys).astype(int)
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        mask[rows[inside], cols[inside]] = True
    return mask


def polygon_mask(polygons, geotransform: tuple[float, ...], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre lies inside any of the (shapely) polygons."""
    import shapely

    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    xs = geotransform[0] + (cols + 0.5) * geotransform[1] + (rows + 0.5) * geotransform[2]
    ys = geotransform[3] + (cols + 0.5) * geotransform[4] + (rows + 0.5) * geotransform[5]
    union = shapely.union_all(list(polygons))
    shapely.prepare(union)
    return shapely.contains_xy(union, xs.ravel(), ys.ravel()).reshape(shape)


def rasterize_labels(db: np.ndarray, geotransform: tuple[float, ...], lines: list[np.ndarray],
                     land_polygons=None, coast_sigma_px: float = COAST_SIGMA_PX,
                     land_mask: np.ndarray | None = None) -> SceneLabels:
    """Both label forms for one scene. `db` is its calibrated backscatter (NaN = no data)."""
    valid = np.isfinite(db)
    barrier = line_pixels(lines, geotransform, db.shape)
    notes, warnings = [], []
    if land_mask is not None:
        land = land_mask
        notes.append("Sea and land sides taken from the label raster.")
    elif land_polygons:
        land = polygon_mask(land_polygons, geotransform, db.shape)
        notes.append("Sea and land sides taken from the land polygons.")
    else:
        land = _land_by_regions(db, valid, barrier, notes)
    classes = np.where(valid, np.where(land, LAND, SEA), NODATA).astype(np.uint8)
    if barrier.any():
        distance = ndimage.distance_transform_edt(~barrier)
        coast = np.exp(-0.5 * (distance / coast_sigma_px) ** 2)
    else:
        coast = np.zeros(db.shape)
        side = "land" if (classes == LAND).sum() >= (classes == SEA).sum() else "sea"
        warnings.append(f"No coastline line in this scene: all of it is labelled {side}. Check that the lines "
                        "layer covers this scene.")
    coast[~valid] = 0.0
    return SceneLabels(classes, np.round(coast * 255).astype(np.uint8), notes, warnings)


def _land_by_regions(db: np.ndarray, valid: np.ndarray, barrier: np.ndarray, notes: list[str]) -> np.ndarray:
    regions, count = ndimage.label(valid & ~barrier)
    land = np.zeros(db.shape, bool)
    if count == 0:
        return land
    if count == 1 and barrier.any():
        raise InputError("The coastline lines do not cut the scene into sea and land (they end inside it), so no "
                         "side can be told from the other. Give land polygons, or lines that cross the scene "
                         "from edge to edge (or close around islands).")
    medians = np.asarray(ndimage.median(np.nan_to_num(db, nan=-99.0), regions, index=np.arange(1, count + 1)))
    if count == 1:  # no line at all: one side, told by a fixed threshold (the caller warns)
        return valid & bool(medians[0] >= SEA_DB_THRESHOLD)
    from ..core.classical import despeckle, otsu_threshold

    threshold = otsu_threshold(despeckle(db, 2.0))
    is_land = np.concatenate([[False], medians >= threshold])
    land = is_land[regions]
    # line pixels take the side of their nearest region pixel
    _distance, (nearest_rows, nearest_cols) = ndimage.distance_transform_edt(regions == 0, return_indices=True)
    land = np.where(regions == 0, land[nearest_rows, nearest_cols], land) & valid
    sea_regions = int(count - is_land[1:].sum())
    notes.append(f"No land polygons: the lines cut the scene into {count} region(s); {sea_regions} with a median "
                 f"backscatter below {threshold:.1f} dB were labelled sea, the others land. Give land polygons "
                 "where this rule is wrong (e.g. dark land such as wet sand, or bright wind-roughened sea).")
    return land
