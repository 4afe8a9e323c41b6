"""Deterministic, realistic synthetic SAR coastline scenes (mission "Data"), for tests, demo, training and
benchmarks.

A smooth random land field (style-dependent roughness, a ramp in a random direction so coasts run every
way, estuary channels, islands) defines the surveyed (datum) land; the water line at acquisition is offset
from it by a smooth tide offset (positive: the water line lies landward, as at high tide; some scenes have a
negative offset, a low tide exposing flats). The sea is the largest water body and those reaching the scene
border with at least a twentieth of its size; the other water bodies are lakes. The primary truth is what
the image shows and the mission calls the coastline: the sea's instantaneous water line (islands kept, lake
shores left out). The datum line of the sea, a tide offset away and not visible in the image, is a second
truth, with the scene's mean tide offset.

Radiometry in sigma0 dB: dark sea with wind-roughened patches, textured land with bright point scatterers,
an intermediate intertidal strip; a co- or cross-pol look with a noise floor; an incidence trend across the
swath and, drawn per scene, wind and current fronts, slicks, ships, surf, urban double bounce, radar-dark land,
layover and shadow (see `_radiometry`); a per-scene gain, contrast and number of looks (more at coarser
pixels); multiplicative Gamma speckle; DN = amplitude calibrated with CF -83 dB; 0 = no data (swath edges,
holes). Ground features keep their size in metres at every pixel size (3 m ALOS-2 to 40 m Sentinel-1 GRDM).
Options: hard scenes, the effects that fool a threshold drawn more often; dual-pol scenes, a second band of the
other polarisation over the same ground and sea surface. Scenes drawn without them stay those of earlier
versions for the same seed (benchmarks depend on them).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from ..core.evaluation.metric import sample_along
from ..core.imaging.regions import remove_small_regions
from ..core.io.gdal import closing_errors
from ..core.io.georef import pixel_to_map
from ..core.io.scene import CF_DB
from ..core.io.vectors import POINT, Feature, Layer, write_layers
from ..core.io.writing import replace_on_success
from ..core.lines.vectorize import split_at

STYLES = ("beach", "rocky", "estuary", "mixed")
CRS_EPSG = 32633
MIN_REGION_PX = 200  # at 3 m pixels; the same ground area at other pixel sizes
REFERENCE_PIXEL_M = 3.0  # ALOS-2 strip-map pixels: the scale at which the coast shapes were designed
MIN_LINE_M = 30.0


@dataclass
class SyntheticScene:
    dn: np.ndarray
    labels: np.ndarray  # 0 water, 1 no data, 2 land, as the image shows them (lakes are water)
    truth_lines: list[np.ndarray]  # the sea's water line at acquisition: the coastline
    datum_lines: list[np.ndarray]  # the sea's surveyed line, a tide offset away: a second, invisible truth
    tide_m: float  # mean offset of the water line from the datum line (positive: landward, high tide)
    visible_land: np.ndarray  # land as the image shows it: the datum land moved by the tide offset
    geotransform: tuple[float, ...]
    crs_wkt: str
    style: str
    seed: int
    polarisation: str = "co"  # "co" (VV, HH) or "cross" (VH, HV) look
    effects: tuple[str, ...] = ()  # the radiometric effects drawn for this scene (see _radiometry)
    looks: float = 1.0  # equivalent number of looks of the speckle
    second_dn: np.ndarray | None = None  # dual-pol scenes: the other polarisation, the same ground and no data
    second_polarisation: str | None = None


@dataclass(frozen=True)
class ScenePaths:
    image: Path
    truth: Path
    labels: Path


def _crs_wkt() -> str:
    try:
        from osgeo import osr
    except ImportError:  # GPU servers without GDAL: a plain authority string is enough there
        return f"EPSG:{CRS_EPSG}"
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(CRS_EPSG)
    return srs.ExportToWkt()


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return field / max(float(field.std()), 1e-9)


def _upsample(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    zoom = (shape[0] / field.shape[0], shape[1] / field.shape[1])
    return ndimage.zoom(field, zoom, order=1, mode="nearest", grid_mode=True)[:shape[0], :shape[1]]


def _land_field(rng: np.random.Generator, shape: tuple[int, int], style: str, ground: float) -> np.ndarray:
    """A field at a coarse resolution (1/8 at 3 m pixels) whose positive part is land; `ground` is the pixel size
    over REFERENCE_PIXEL_M: coarser pixels see the same ground features smaller."""
    divisor = max(1, round(8 / ground))
    coarse = (max(8, shape[0] // divisor), max(8, shape[1] // divisor))
    rows, cols = np.mgrid[0:coarse[0], 0:coarse[1]].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = cols * np.cos(angle) + rows * np.sin(angle)
    ramp = 2.0 * (along - along.min()) / max(float(np.ptp(along)), 1e-9) - 1.0
    ramp -= rng.uniform(-0.25, 0.25)  # where the coast crosses the scene
    # octave sizes grow with the scene so coasts look alike at any size, and shrink with coarser pixels
    scale = max(shape) / (64.0 * ground * divisor)
    roughness = {"beach": (0.15, 0.04), "rocky": (0.35, 0.18), "estuary": (0.25, 0.08)}[style]
    field = ramp + roughness[0] * _smooth_noise(rng, coarse, 6 * scale) + roughness[1] * _smooth_noise(
        rng, coarse, 1.5 * scale)
    if style in ("rocky", "estuary"):  # islands offshore
        for _ in range(int(rng.integers(1, 4))):
            centre = rng.uniform(0, 1, 2) * coarse
            radius = rng.uniform(2.0, 5.0) * scale
            field += 0.6 * np.exp(-0.5 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / radius**2)
    if style == "estuary":  # a meandering channel running inland, perpendicular to the coast
        start = rng.uniform(0.3, 0.7)
        t = np.linspace(0, 1, 200)
        path_along = t * np.ptp(along) + along.min()
        offset = (start - 0.5) * max(coarse) + 6 * scale * np.sin(t * rng.uniform(4, 9) + rng.uniform(0, 6))
        path_rows = path_along * np.sin(angle) - offset * np.cos(angle) + coarse[0] / 2 * (1 - np.sin(angle))
        path_cols = path_along * np.cos(angle) + offset * np.sin(angle) + coarse[1] / 2 * (1 - np.cos(angle))
        mask = np.ones(coarse, bool)
        inside = (path_rows >= 0) & (path_rows < coarse[0]) & (path_cols >= 0) & (path_cols < coarse[1])
        mask[path_rows[inside].astype(int), path_cols[inside].astype(int)] = False
        distance = ndimage.distance_transform_edt(mask)
        field -= 1.2 * np.exp(-0.5 * (distance / (1.2 * scale)) ** 2) * (ramp > -0.2)
    return field


def _nodata_mask(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    nodata = np.zeros(shape, bool)
    if rng.random() < 0.6:  # a swath edge: a slanted band along one side
        rows, cols = np.mgrid[0:height, 0:width]
        side = int(rng.integers(4))
        depth = rng.uniform(0.04, 0.15)
        slant = rng.uniform(-0.1, 0.1)
        u, v, length = [(cols, rows, width), (width - 1 - cols, rows, width), (rows, cols, height),
                        (height - 1 - rows, cols, height)][side]
        nodata |= u < (depth + slant * v / max(shape)) * length
    if rng.random() < 0.35:  # a hole (a processing gap)
        h, w = int(rng.uniform(0.05, 0.15) * height), int(rng.uniform(0.05, 0.15) * width)
        top, left = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
        nodata[top:top + h, left:left + w] = True
    return nodata


def _lines(mask: np.ndarray, excluded: np.ndarray, geotransform: tuple[float, ...]) -> list[np.ndarray]:
    """Sub-pixel boundary of `mask` in map coordinates, cut where `excluded` (no-data, border)."""
    smooth = ndimage.gaussian_filter(mask.astype(np.float32), 1.0)
    lines = []
    for contour in find_contours(smooth, 0.5):
        rows = np.clip(np.rint(contour[:, 0]).astype(int), 0, mask.shape[0] - 1)
        cols = np.clip(np.rint(contour[:, 1]).astype(int), 0, mask.shape[1] - 1)
        for run in split_at(contour, excluded[rows, cols]):
            xs, ys = pixel_to_map(geotransform, contour[run, 1] + 0.5, contour[run, 0] + 0.5)
            line = np.column_stack([xs, ys])
            if np.hypot(*np.diff(line, axis=0).T).sum() >= MIN_LINE_M:
                lines.append(line)
    return lines


def _excluded(nodata: np.ndarray) -> np.ndarray:
    """Where lines are cut: no-data grown by a pixel, and the scene border."""
    excluded = ndimage.binary_dilation(nodata, iterations=1)
    excluded[[0, -1], :] = True
    excluded[:, [0, -1]] = True
    return excluded


def shifted_water_lines(scene: SyntheticScene, pixels: int) -> list[np.ndarray]:
    """The sea's water line moved `pixels` seaward: a guess of the datum line from the tide offset the
    generator favours, which the image does not show (a reference for the datum score, not a method)."""
    grown = ndimage.distance_transform_edt(~scene.visible_land) <= pixels
    return _lines(grown | ~_sea(~grown), _excluded(scene.labels == 1), scene.geotransform)


def _sea(water: np.ndarray) -> np.ndarray:
    """The sea: the largest water body (8-connected) and those reaching the border with at least a twentieth
    of its size; the other water bodies are lakes."""
    bodies, count = ndimage.label(water, structure=np.ones((3, 3), bool))
    if count == 0:
        return water
    sizes = np.bincount(bodies.ravel())
    sizes[0] = 0
    edge = np.zeros(count + 1, bool)
    edge[np.concatenate([bodies[0], bodies[-1], bodies[:, 0], bodies[:, -1]])] = True
    is_sea = edge & (sizes >= sizes.max() / 20)
    is_sea[np.argmax(sizes)] = True
    is_sea[0] = False
    return is_sea[bodies]


def _ground_cells(pixels: int, ground: float, per_cell_px: float) -> int:
    """Cells of a noise grid whose cell covers the same ground at any pixel size (at least 8)."""
    return max(8, round(pixels * ground / per_cell_px))


def _ground_noise(rng: np.random.Generator, shape: tuple[int, int], ground: float, per_cell_px: float,
                  sigma: float) -> np.ndarray:
    """Smooth unit noise at the scene's shape whose grid cells keep their size on the ground."""
    cells = (_ground_cells(shape[0], ground, per_cell_px), _ground_cells(shape[1], ground, per_cell_px))
    return _upsample(_smooth_noise(rng, cells, sigma), shape)


def _patches(rng: np.random.Generator, shape: tuple[int, int], ground: float, per_cell_px: float,
             share: float) -> np.ndarray:
    """Smooth blobs covering about `share` of the scene, their size fixed on the ground."""
    field = _ground_noise(rng, shape, ground, per_cell_px, 1.5)
    return field > np.quantile(field, 1.0 - share)


def _near(mask: np.ndarray, pixels: float) -> np.ndarray:
    """Pixels within `pixels` of `mask` (and `mask` itself)."""
    return ndimage.distance_transform_edt(~mask) <= pixels


# Effect probabilities per scene; hard scenes oversample the effects that fool a threshold.
EFFECT_CHANCE = {"wind front": 0.25, "current front": 0.2, "slicks": 0.3, "ships": 0.5, "surf": 0.35, "urban": 0.4,
                 "dark land": 0.4, "layover and shadow": 0.6}
HARD_EFFECT_CHANCE = EFFECT_CHANCE | {"wind front": 0.6, "current front": 0.4, "slicks": 0.5, "dark land": 0.7}
HARD_WIND_GAIN = 1.6  # hard scenes: wind-roughened sea patches near the shore reach land levels


def _scatterers(rng: np.random.Generator, shape: tuple[int, int], ground: float) -> np.ndarray:
    """Bright point targets: a few pixels at 3 m, one at 10 m and coarser."""
    scatterers = rng.random(shape) < 2e-4 * min(ground * ground, 25.0)
    return ndimage.binary_dilation(scatterers) if ground < 2 else scatterers


def _incidence_trend(rng: np.random.Generator, shape: tuple[int, int], pixel_size: float) -> np.ndarray:
    """The fall-off of sigma0 with incidence angle across the swath (a few dB over a Sentinel-1 swath)."""
    height, width = shape
    across_km = (np.arange(width if rng.random() < 0.5 else height) - 0.5 * max(shape)) * pixel_size / 1000
    slope = rng.uniform(0.02, 0.06) * rng.choice((-1.0, 1.0))
    return (slope * across_km)[None, :] if across_km.size == width else (slope * across_km)[:, None]


def _wind_front(rng: np.random.Generator, shape: tuple[int, int], ground: float) -> np.ndarray:
    """A straight, soft step from 0 to 1: the windier side of a wind front."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    across = cols * np.cos(angle) + rows * np.sin(angle)
    edge = rng.uniform(np.percentile(across, 20), np.percentile(across, 80))
    return 0.5 * (1 + np.tanh((across - edge) * ground / 40))


def _ships(rng: np.random.Generator, sea: np.ndarray, signed: np.ndarray, pixel_size: float,
           ground: float) -> np.ndarray:
    """A few ships off the coast."""
    offshore = np.flatnonzero((sea & (signed < -60 / pixel_size)).ravel())
    count = min(offshore.size, int(rng.integers(3, 30)))
    ships = np.zeros(sea.size, bool)
    ships[rng.choice(offshore, count, replace=False)] = True
    ships = ships.reshape(sea.shape)
    return ndimage.binary_dilation(ships, np.ones((2, 3), bool)) if ground < 2 else ships


def _surf(rng: np.random.Generator, water_line: np.ndarray, visible: np.ndarray, pixel_size: float) -> np.ndarray:
    """The surf zone off a beach, weighted by the share of a pixel it covers."""
    width_m = rng.uniform(10, 40)
    zone = _near(water_line, max(1.0, width_m / pixel_size)) & ~visible
    return min(1.0, width_m / pixel_size) * zone


def _layover_and_shadow(rng: np.random.Generator, signed: np.ndarray, visible: np.ndarray, water_line: np.ndarray,
                        pixel_size: float) -> np.ndarray:
    """Two masks along a steep coast: the slopes facing the sensor (layover) and those facing away (shadow)."""
    look = rng.uniform(0, 2 * np.pi)
    grad_rows, grad_cols = np.gradient(ndimage.gaussian_filter(signed, 2.0))
    facing = grad_cols * np.cos(look) + grad_rows * np.sin(look)
    strip = visible & _near(water_line, max(1.0, rng.uniform(10, 40) / pixel_size))
    return np.stack([strip & (facing < -0.3), strip & (facing > 0.3)])


def _radiometry(rng: np.random.Generator, shape: tuple[int, int], pixel_size: float, kind: str,
                visible: np.ndarray, between: np.ndarray, signed: np.ndarray, sea: np.ndarray, *, hard: bool = False,
                polarisation: str | None = None, shared: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, str, tuple[str, ...], dict[str, np.ndarray]]:
    """sigma0 dB before speckle, the polarisation, the effects drawn for this scene and the spatial fields drawn
    (wind, land texture, effect masks).

    Co-pol: brighter, wind-sensitive sea; cross-pol: a sea near the noise floor and darker land. Effects,
    each drawn with its own probability: an incidence-angle trend across the swath, wind and current fronts,
    slicks and ships in the sea, surf, bright urban blocks, radar-dark land (dry sand, tarmac, mudflats, calm
    ponds), layover and shadow on steep coasts. Sizes are on the ground: coarser pixels see them smaller.
    `hard` draws the effects that fool a threshold more often and brightens the wind patches. `polarisation`
    forces the look (None draws it). `shared`, the fields of another band of the scene, makes this band show the
    same sea surface, ground and effects, with its own levels and effect strengths (a dual-pol product).
    Without options the draws from `rng` keep their number and order, so existing seeds keep their scenes.
    """
    ground = pixel_size / REFERENCE_PIXEL_M
    chance = HARD_EFFECT_CHANCE if hard else EFFECT_CHANCE
    fields = {} if shared is None else shared

    def field(name: str, draw: Callable[[], np.ndarray]) -> np.ndarray:
        """A spatial field: drawn for the first band, the first band's for the second."""
        if shared is None:
            fields[name] = draw()
        return fields[name]

    def drawn(effect: str) -> bool:
        """Whether the scene shows `effect`: drawn for the first band, as in the first band for the second."""
        return effect in fields if shared is not None else rng.random() < chance[effect]

    if polarisation is None:
        polarisation = "cross" if rng.random() < 0.35 else "co"
    effects = [polarisation + "-pol", "incidence"]
    if polarisation == "co":
        sea_base, wind_db, land_base, intertidal_db = (rng.uniform(-24, -14), rng.uniform(6, 10),
                                                       rng.uniform(-11, -4), rng.uniform(-19, -12))
        noise_floor_db = rng.uniform(-27, -22)
    else:
        sea_base, wind_db, land_base, intertidal_db = (rng.uniform(-31, -25), rng.uniform(2, 5),
                                                       rng.uniform(-19, -12), rng.uniform(-26, -20))
        noise_floor_db = rng.uniform(-30, -25)
    if hard:
        wind_db *= HARD_WIND_GAIN
    wind = field("wind", lambda: np.clip(_ground_noise(rng, shape, ground, 64, 2), 0, None) ** 2 / 4)
    sea_db = sea_base + wind_db * wind
    land_db = land_base + 2.0 * field("land texture", lambda: _ground_noise(rng, shape, ground, 16, 1.5))
    land_db = land_db + field("scatterers", lambda: _scatterers(rng, shape, ground)) * rng.uniform(10, 20)

    # The sea falls off with incidence angle more than land.
    trend = field("incidence", lambda: _incidence_trend(rng, shape, pixel_size))
    sea_db = sea_db - trend
    land_db = land_db - 0.3 * trend
    if drawn("wind front"):  # the sea brighter on one side of a straight, soft edge
        effects.append("wind front")
        front = field("wind front", lambda: _wind_front(rng, shape, ground))
        sea_db = sea_db + rng.uniform(3, 7) * front
    if drawn("current front"):  # a thin bright ribbon
        effects.append("current front")
        ribbon = field("current front", lambda: np.abs(_ground_noise(rng, shape, ground, 128, 1.5)) < 0.04)
        sea_db = sea_db + rng.uniform(3, 6) * ribbon
    if drawn("slicks"):  # natural films, oil: dark, smooth patches
        effects.append("slicks")
        strength = rng.uniform(5, 9)  # drawn before the patches: existing seeds keep their scenes
        sea_db = sea_db - strength * field("slicks", lambda: _patches(rng, shape, ground, 96, rng.uniform(0.03, 0.1)))
    if drawn("ships"):  # bright points off the coast
        effects.append("ships")
        ships = field("ships", lambda: _ships(rng, sea, signed, pixel_size, ground))
        sea_db = np.where(ships, rng.uniform(5, 15), sea_db)
    water_line = visible ^ ndimage.binary_erosion(visible)
    if kind == "beach" and drawn("surf"):  # breaking waves just off the beach
        effects.append("surf")
        surf = field("surf", lambda: _surf(rng, water_line, visible, pixel_size))
        sea_db = sea_db + rng.uniform(3, 7) * surf
    if drawn("urban"):  # towns and harbours: bright double bounce near the coast
        effects.append("urban")
        urban = field("urban", lambda: _patches(rng, shape, ground, 48, rng.uniform(0.02, 0.08)) & _near(
            water_line, 1500 / pixel_size))
        land_db = np.where(urban, land_db + rng.uniform(6, 12), land_db)
    if drawn("dark land"):  # dry sand, tarmac, exposed mud, calm ponds in fields
        effects.append("dark land")
        dark = field("dark land", lambda: _patches(rng, shape, ground, 48, rng.uniform(0.03, 0.12)))
        land_db = np.where(dark, sea_base + rng.uniform(0, 5) + 0.2 * (land_db - land_base), land_db)
    if kind == "rocky" and drawn("layover and shadow"):  # steep coasts
        effects.append("layover and shadow")
        layover, shadow = field("layover and shadow", lambda: _layover_and_shadow(rng, signed, visible, water_line,
                                                                                  pixel_size))
        land_db = np.where(layover, land_db + rng.uniform(4, 8), land_db)
        land_db = np.where(shadow, noise_floor_db + rng.uniform(0, 3), land_db)
    if hard:
        effects.append("hard")
    db = np.where(visible, land_db, np.where(between, intertidal_db, sea_db))
    db = 10 * np.log10(np.power(10.0, db / 10) + 10 ** (noise_floor_db / 10))  # the sensor's noise floor
    return db.astype(np.float32), polarisation, tuple(effects), fields


def _gain_and_contrast(rng: np.random.Generator, db: np.ndarray) -> np.ndarray:
    """A per-scene calibration offset and contrast around the median."""
    median = float(np.median(db))
    return median + (db - median) * rng.uniform(0.8, 1.25) + rng.uniform(-3, 3)


def _speckled_dn(rng: np.random.Generator, db: np.ndarray, looks: float, nodata: np.ndarray) -> np.ndarray:
    """Gamma speckle of `looks` looks, then amplitude DN calibrated with CF_DB; 0 where no data."""
    intensity = np.power(10.0, db / 10.0) * rng.gamma(looks, 1.0 / looks, db.shape)
    dn = np.sqrt(intensity / 10.0 ** (CF_DB / 10.0))
    dn = np.clip(np.rint(dn), 1, 65535).astype(np.uint16)
    dn[nodata] = 0
    return dn


def generate_scene(width: int, height: int, seed: int, style: str = "mixed", pixel_size: float = REFERENCE_PIXEL_M,
                   *, hard: bool = False, dual_pol: bool = False) -> SyntheticScene:
    """A scene of `pixel_size` m pixels; ground features keep their size, so a 10 m scene shows coasts about
    three times smaller in pixels than a 3 m one, with more looks per pixel (multilooked, as GRD products).

    `hard` oversamples the effects that fool a threshold (see `_radiometry`); the land and labels of the seed's
    default scene are kept, its map origin (drawn after the radiometry) is not. `dual_pol` adds a second band of
    the other polarisation (`second_dn`); the first band stays the default scene's."""
    if style not in STYLES:
        raise ValueError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLES)}.")
    if pixel_size <= 0:
        raise ValueError(f"pixel_size must be positive, got {pixel_size}.")
    rng = np.random.default_rng(seed)
    shape = (height, width)
    ground = pixel_size / REFERENCE_PIXEL_M
    kind = str(rng.choice(STYLES[:3])) if style == "mixed" else style
    land = _upsample(_land_field(rng, shape, kind, ground), shape) > 0
    min_region = max(4, round(MIN_REGION_PX / ground**2))
    land = remove_small_regions(land, min_region)
    land = ~remove_small_regions(~land, min_region)
    if land.all() or not land.any():  # every scene has both sea and land
        land[:, : width // 2] = False
        land[:, width // 2:] = True
    signed = ndimage.distance_transform_edt(land) - ndimage.distance_transform_edt(~land)
    tide_sign = 1.0 if rng.random() < 0.8 else -1.0
    tide = tide_sign * (2.0 + 8.0 * (0.5 + 0.5 * np.tanh(_upsample(_smooth_noise(rng, (16, 16), 3), shape))))
    tide /= ground  # 6-30 m on the ground
    visible = signed > tide
    nodata = _nodata_mask(rng, shape)
    sea_at_acquisition = _sea(~visible)

    between = (signed > min(0.0, float(tide.min()))) & ~visible & (np.abs(signed) <= np.abs(tide) + 0.5)
    db, polarisation, effects, fields = _radiometry(rng, shape, pixel_size, kind, visible, between, signed,
                                                    sea_at_acquisition, hard=hard)
    db = _gain_and_contrast(rng, db)
    looks = int(rng.integers(1, 4)) * max(1.0, ground) ** 0.8
    dn = _speckled_dn(rng, db, looks, nodata)

    labels = np.where(nodata, 1, np.where(visible, 2, 0)).astype(np.uint8)
    origin = (500_000.0 + 1000.0 * int(rng.integers(0, 100)), 6_000_000.0 + 1000.0 * int(rng.integers(0, 100)))
    geotransform = (origin[0], pixel_size, 0.0, origin[1], 0.0, -pixel_size)
    excluded = _excluded(nodata)
    second_dn = second_polarisation = None
    if dual_pol:  # its own generator, so that the first band and the geometry stay those of the default scene
        second_rng = np.random.default_rng([seed, 7])
        second_polarisation = "cross" if polarisation == "co" else "co"
        second_db = _radiometry(second_rng, shape, pixel_size, kind, visible, between, signed, sea_at_acquisition,
                                hard=hard, polarisation=second_polarisation, shared=fields)[0]
        second_dn = _speckled_dn(second_rng, _gain_and_contrast(second_rng, second_db), looks, nodata)
    return SyntheticScene(dn=dn, labels=labels, truth_lines=_lines(~sea_at_acquisition, excluded, geotransform),
                          datum_lines=_lines(~_sea(~land), excluded, geotransform),
                          tide_m=round(float(np.mean(tide)) * pixel_size, 2), visible_land=visible,
                          geotransform=geotransform, crs_wkt=_crs_wkt(), style=kind, seed=seed,
                          polarisation=polarisation, effects=effects, looks=looks, second_dn=second_dn,
                          second_polarisation=second_polarisation)


def _write_raster(path: Path, arrays: list[np.ndarray], scene: SyntheticScene, nodata: int | None,
                  descriptions: list[str] | None = None) -> None:
    from osgeo import gdal

    gdal.UseExceptions()
    height, width = arrays[0].shape
    data_type = gdal.GDT_UInt16 if arrays[0].dtype == np.uint16 else gdal.GDT_Byte
    with replace_on_success(path, "the generated scene") as temporary:
        dataset = gdal.GetDriverByName("GTiff").Create(str(temporary), width, height, len(arrays), data_type,
                                                       options=["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
        dataset.SetGeoTransform(scene.geotransform)
        dataset.SetProjection(scene.crs_wkt)
        for number, array in enumerate(arrays, start=1):
            band = dataset.GetRasterBand(number)
            if nodata is not None:
                band.SetNoDataValue(nodata)
            if descriptions:
                band.SetDescription(descriptions[number - 1])
            band.WriteArray(array)
        band = None
        with closing_errors() as errors:  # closing writes the TIFF's directory, which can fail too
            dataset = None
        if errors:
            raise errors[0]


def write_scene(scene: SyntheticScene, folder: str | Path, name: str) -> ScenePaths:
    """The image (uint16 GeoTIFF, 0 = no data; dual-pol scenes: band 1 the first polarisation, band 2 the
    other), the labels and the ground truth GeoPackage."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = ScenePaths(folder / f"{name}.tif", folder / f"{name}_truth.gpkg", folder / f"{name}_labels.tif")
    if scene.second_dn is None:
        _write_raster(paths.image, [scene.dn], scene, 0)
    else:
        _write_raster(paths.image, [scene.dn, scene.second_dn], scene, 0,
                      [f"{scene.polarisation}-pol", f"{scene.second_polarisation}-pol"])
    _write_raster(paths.labels, [scene.labels], scene, None)
    points = [Feature(point, {"scene": name, "point_id": index})
              for index, point in enumerate(sample_along(scene.truth_lines))]
    write_layers(paths.truth, [Layer("coastline", [Feature(line, {"scene": name}) for line in scene.truth_lines]),
                               Layer("datum", [Feature(line, {"scene": name, "tide_m": scene.tide_m})
                                               for line in scene.datum_lines]),
                               Layer("points", points, POINT)], scene.crs_wkt)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic SAR coastline scene and its ground truth.")
    parser.add_argument("--size", type=int, default=2048, help="width in pixels (3 m each)")
    parser.add_argument("--height", type=int, help="height in pixels (default: the width)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", choices=STYLES, default="mixed")
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--name", default="scene")
    parser.add_argument("--hard", action="store_true", help="oversample the effects that fool a threshold")
    parser.add_argument("--dual-pol", action="store_true", help="add a band of the other polarisation")
    args = parser.parse_args()
    scene = generate_scene(args.size, args.height or args.size, args.seed, args.style, hard=args.hard,
                           dual_pol=args.dual_pol)
    paths = write_scene(scene, args.out, args.name)
    print(paths.image, paths.truth, paths.labels, sep="\n")


if __name__ == "__main__":
    main()
