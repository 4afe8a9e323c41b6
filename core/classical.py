"""The model-free method: calibrated dB, despeckle, Otsu on valid pixels, clean-up, sub-pixel contour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .errors import InputError
from .hooks import RunHooks


@dataclass(frozen=True)
class ClassicalParams:
    despeckle_sigma_px: float = 2.0   # Gaussian in dB: ~12 looks for a 1-look scene
    min_area_m2: float = 10_000.0     # islands and lakes smaller than this are speckle, not coast
    contour_band_db: float = 3.0      # dB around the threshold where the contour takes sub-pixel position


def despeckle(db: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian filter in dB, normalised over valid pixels so no-data does not bleed in.

    Averaging in dB (not intensity) keeps a sea/land edge's threshold crossing where the edge is: in
    intensity the bright side dominates and the contour drifts about one sigma seaward. Pixels mostly
    surrounded by data get a value even if they had none (isolated no-data specks are filled); the rest
    of the no-data stays NaN.
    """
    valid = np.isfinite(db)
    weight = ndimage.gaussian_filter(valid.astype(np.float32), sigma_px)
    smoothed = ndimage.gaussian_filter(np.where(valid, db, 0.0).astype(np.float32), sigma_px)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = smoothed / weight
    result[weight < 0.5] = np.nan
    return result


def otsu_threshold(values: np.ndarray, bins: int = 512) -> float:
    """Otsu's threshold of the finite values (between-class variance maximised on a histogram)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError("No valid pixels to threshold.")
    low, high = np.percentile(finite, [0.1, 99.9])
    if high <= low:
        raise InputError("The scene has no contrast between sea and land (all valid pixels are equal).")
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centres[np.nanargmax(between)])


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop connected regions of `mask` smaller than `min_pixels` (8-connectivity)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


def land_field(db: np.ndarray, pixel_size: float, params: ClassicalParams,
               check_cancel: Callable[[], None] = lambda: None) -> tuple[np.ndarray, float]:
    """A field whose 0-level contour is the coast: > 0 land, < 0 sea, NaN no-data; and the threshold (dB)."""
    smoothed = despeckle(db, params.despeckle_sigma_px)
    check_cancel()
    threshold = otsu_threshold(smoothed)
    valid = np.isfinite(smoothed)
    land = valid & (smoothed > threshold)
    min_pixels = max(1, int(params.min_area_m2 / pixel_size**2))
    land = remove_small_regions(land, min_pixels)
    check_cancel()
    land = ~remove_small_regions(~land & valid, min_pixels) & valid
    check_cancel()
    # Sub-pixel position from the smoothed intensity, but the side chosen by the cleaned mask.
    field = np.clip((smoothed - threshold) / params.contour_band_db, -1.0, 1.0)
    field = np.where(land, np.maximum(field, 1e-3), np.minimum(field, -1e-3)).astype(np.float32)
    field[~valid] = np.nan
    return field, threshold


def extract_lines(scene, params: ClassicalParams, min_length_m: float, nodata_margin_px: int,
                  hooks: RunHooks) -> list:
    """The classical method's lines of a scene (Coastline objects in map coordinates)."""
    from skimage.measure import find_contours

    from .raster import check_has_data
    from .vector import Coastline, border_and_nodata_exclusion, contours_to_lines

    valid_share = check_has_data(scene)
    hooks.progress(2)
    db = np.empty((scene.height, scene.width), np.float32)
    for row, strip in scene.iter_strips():
        db[row:row + len(strip)] = strip
        hooks.check_cancel()
    hooks.progress(20)
    land, threshold = land_field(db, scene.pixel_size, params, hooks.check_cancel)
    del db
    hooks.note(f"Otsu threshold {threshold:.1f} dB on {valid_share:.0%} valid pixels.")
    hooks.progress(60)
    valid = np.isfinite(land)
    contours = find_contours(np.where(valid, land, 0.0), 0.0)
    hooks.check_cancel()
    hooks.progress(85)
    excluded = border_and_nodata_exclusion(valid, nodata_margin_px)
    coords = contours_to_lines(contours, scene.geotransform, excluded, min_length_m)
    hooks.check_cancel()
    return [Coastline(line, {"models": "", "confidence": None, "uncertainty_m": None}) for line in coords]
