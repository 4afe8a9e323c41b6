"""What a band's values are (amplitude DN, linear power, amplitude, dB), told by the user (SCALE) or detected, and
the inputs that would give a wrong line without a word: class rasters, and products with the sea masked."""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import InputError
from ..imaging.threshold import otsu_threshold

# How a band's values become sigma0 in dB (the Scene's interpretation); the SCALE choices in this order.
AUTO = "auto"
DN_AMPLITUDE = "dn_amplitude"  # integer amplitude DN: sigma0 = 10 log10(DN^2) + CF
LINEAR_POWER = "linear_power"  # sigma0 (or gamma0) as linear power
AMPLITUDE = "amplitude"  # square root of linear power
DECIBEL = "decibel"
SCALES = (AUTO, DN_AMPLITUDE, LINEAR_POWER, AMPLITUDE, DECIBEL)
SCALE_LABELS = {AUTO: "Auto-detect (the log says why)", DN_AMPLITUDE: "Amplitude DN (calibrated with CF)",
                LINEAR_POWER: "Linear power (sigma0/gamma0)", AMPLITUDE: "Amplitude (square root of power)",
                DECIBEL: "Decibels (dB)"}

CLASS_RASTER_VALUES = 8  # an integer band with this many distinct values or fewer looks like classes, not radar
WATER_DB = -15.0  # calibrated sigma0 below this is water-like (calm sea -20 to -25 dB, land -12 to 0 dB)
_NAME_HINTS = (  # (pattern on the lower-case file name, scale, why): HyP3 RTC names its files this way
    (re.compile(r"(^|[_\-.])(db|decibels?)($|[_\-.])"), DECIBEL, "its name says dB"),
    (re.compile(r"(^|[_\-.])amp(litude)?($|[_\-.])"), AMPLITUDE, "its name says amplitude"),
    (re.compile(r"(^|[_\-.])(pow(er)?|intensity)($|[_\-.])"), LINEAR_POWER, "its name says power"),
    (re.compile(r"_(vv|vh|hh|hv)$"), LINEAR_POWER, "ASF HyP3 RTC names its power files <name>_VV (amplitude _amp, "
                                                   "dB _db)"),
)


def sample(band, side: int = 512, resample: str = "nearest") -> np.ndarray:
    """The band read reduced to at most `side` px (float64, no-data as NaN): cheap statistics on any size."""
    from osgeo import gdal

    factor = max(1.0, max(band.XSize, band.YSize) / side)
    width, height = max(1, round(band.XSize / factor)), max(1, round(band.YSize / factor))
    algorithm = gdal.GRIORA_NearestNeighbour if resample == "nearest" else gdal.GRIORA_Average
    values = band.ReadAsArray(buf_xsize=width, buf_ysize=height, resample_alg=algorithm).astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        values[values == nodata] = np.nan
    values[~np.isfinite(values)] = np.nan
    return values


def detect(band, data_type: str, name: str, requested: str | None = None) -> tuple[str, str, list[str]]:
    """(interpretation, why, warnings) of a band; `requested` (a SCALE other than auto) wins, with a warning when
    the values contradict it."""
    if data_type.startswith("C"):
        raise InputError(f"'{name}' holds complex values ({data_type}). Give amplitude or intensity: "
                         "compute the modulus first (Raster Calculator).")
    is_integer = not data_type.startswith("Float")
    try:
        values = sample(band)
    except RuntimeError as error:
        if not is_integer:
            raise InputError(f"Cannot read '{name}': {error}. The file may be damaged; open it in QGIS.") from None
        values = None  # integers are amplitude DN whatever they hold; the reads will say what is wrong with the file
    if values is None:
        return (requested if requested and requested != AUTO else DN_AMPLITUDE), "integer values", []
    valid = values[np.isfinite(values)]
    if valid.size == 0:
        raise InputError(f"'{name}' holds only no-data pixels (no-data value {band.GetNoDataValue()}). Check the band "
                         "and the no-data setting of the layer.")
    warnings = []
    if is_integer:
        distinct = np.unique(valid)
        if distinct.size <= CLASS_RASTER_VALUES:
            listed = ", ".join(f"{value:g}" for value in distinct)
            warnings.append(f"'{name}' holds only {distinct.size} distinct values ({listed}): it looks like a class "
                            "or label raster, not a radar image. The lines would be class boundaries; give the SAR "
                            "image itself.")
    negative = bool(valid.min() < 0)
    if requested and requested != AUTO:
        if requested not in SCALES:
            raise InputError(f"Unknown SCALE '{requested}'. Choose one of: {', '.join(SCALES)}.")
        if negative and requested != DECIBEL:
            warnings.append(f"SCALE is {requested}, but '{name}' holds negative values, which only dB can be; "
                            "negative pixels are read as no data.")
        return requested, "as SCALE says", warnings
    if is_integer:
        return DN_AMPLITUDE, "integer values are read as amplitude DN", warnings
    if negative:
        return DECIBEL, "it holds negative values, so dB", warnings
    stem = os.path.splitext(os.path.basename(name))[0].lower()
    for pattern, scale, why in _NAME_HINTS:
        if pattern.search(stem):
            if scale == DECIBEL:  # dB without a negative value is implausible for SAR: trust the values
                break
            return scale, f"{why} (SCALE to change)", warnings
    return LINEAR_POWER, ("non-negative floats are read as linear power, as SNAP and HyP3 write them (SCALE "
                          "amplitude if they are amplitudes)"), warnings


def sea_masked_warning(band, interpretation: str, name: str) -> str | None:
    """A warning when no-data is bordered by bright pixels almost everywhere: the sea masked as no-data (SNAP's
    Terrain-Correction masks areas without elevation by default), so the line would be the mask's edge."""
    from scipy import ndimage

    values = sample(band, resample="nearest")
    nodata = ~np.isfinite(values)
    if interpretation != DECIBEL:
        nodata |= values <= 0
    share = float(nodata.mean())
    if share < 0.02 or share > 0.98:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        db = values if interpretation == DECIBEL else 10.0 * np.log10(values)
    edge = ndimage.binary_dilation(nodata, iterations=2) & ~nodata
    valid = db[~nodata]
    if edge.sum() < 50 or valid.size < 256 or np.ptp(valid) == 0:
        return None
    threshold = min(otsu_threshold(valid), WATER_DB)  # a land-only image has no dark class for Otsu to find
    water_on_edge = float(np.mean(db[edge] <= threshold))
    if water_on_edge > 0.1:
        return None
    return (f"'{name}' has no-data areas ({100 * share:.0f} % of the image) bordered by land almost everywhere "
            f"(water on {100 * water_on_edge:.0f} % of their edge). If the sea was masked as no-data (SNAP's "
            "Terrain-Correction does so by default, 'Mask out areas without elevation'), the coast is the DEM "
            "mask's edge, not the radar's, and lines stop at no-data: export without that mask.")
