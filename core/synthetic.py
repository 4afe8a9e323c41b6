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
an intermediate intertidal strip; a per-scene gain, contrast and number of looks; multiplicative Gamma
speckle; DN = amplitude calibrated with CF -83 dB; 0 = no data (swath edges, holes).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from .classical import remove_small_regions
from .raster import CF_DB, pixel_to_map
from .vector import split_at

STYLES = ("beach", "rocky", "estuary", "mixed")
CRS_EPSG = 32633
MIN_REGION_PX = 200
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


def _land_field(rng: np.random.Generator, shape: tuple[int, int], style: str) -> np.ndarray:
    """A field at 1/8 resolution whose positive part is land."""
    coarse = (max(8, shape[0] // 8), max(8, shape[1] // 8))
    rows, cols = np.mgrid[0:coarse[0], 0:coarse[1]].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = cols * np.cos(angle) + rows * np.sin(angle)
    ramp = 2.0 * (along - along.min()) / max(float(np.ptp(along)), 1e-9) - 1.0
    ramp -= rng.uniform(-0.25, 0.25)  # where the coast crosses the scene
    scale = max(coarse) / 64.0  # octave sizes grow with the scene so coasts look alike at any size
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


def generate_scene(width: int, height: int, seed: int, style: str = "mixed",
                   pixel_size: float = 3.0) -> SyntheticScene:
    if style not in STYLES:
        raise ValueError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLES)}.")
    rng = np.random.default_rng(seed)
    shape = (height, width)
    kind = str(rng.choice(STYLES[:3])) if style == "mixed" else style
    land = _upsample(_land_field(rng, shape, kind), shape) > 0
    land = remove_small_regions(land, MIN_REGION_PX)
    land = ~remove_small_regions(~land, MIN_REGION_PX)
    if land.all() or not land.any():  # every scene has both sea and land
        land[:, : width // 2] = False
        land[:, width // 2:] = True
    signed = ndimage.distance_transform_edt(land) - ndimage.distance_transform_edt(~land)
    tide_sign = 1.0 if rng.random() < 0.8 else -1.0
    tide = tide_sign * (2.0 + 8.0 * (0.5 + 0.5 * np.tanh(_upsample(_smooth_noise(rng, (16, 16), 3), shape))))
    visible = signed > tide
    nodata = _nodata_mask(rng, shape)

    sea_db = rng.uniform(-24, -14) + rng.uniform(6, 10) * np.clip(
        _upsample(_smooth_noise(rng, (max(8, height // 64), max(8, width // 64)), 2), shape), 0, None) ** 2 / 4
    land_db = rng.uniform(-11, -4) + 2.0 * _upsample(_smooth_noise(rng, (max(8, height // 16), max(8, width // 16)),
                                                                     1.5), shape)
    scatterers = ndimage.binary_dilation(rng.random(shape) < 2e-4)
    land_db = land_db + scatterers * rng.uniform(10, 20)
    intertidal_db = rng.uniform(-19, -12)
    between = (signed > min(0.0, float(tide.min()))) & ~visible & (np.abs(signed) <= np.abs(tide) + 0.5)
    db = np.where(visible, land_db, np.where(between, intertidal_db, sea_db)).astype(np.float32)
    median = float(np.median(db))
    db = median + (db - median) * rng.uniform(0.8, 1.25) + rng.uniform(-3, 3)
    looks = int(rng.integers(1, 4))
    intensity = np.power(10.0, db / 10.0) * rng.gamma(looks, 1.0 / looks, shape)
    dn = np.sqrt(intensity / 10.0 ** (CF_DB / 10.0))
    dn = np.clip(np.rint(dn), 1, 65535).astype(np.uint16)
    dn[nodata] = 0

    labels = np.where(nodata, 1, np.where(visible, 2, 0)).astype(np.uint8)
    origin = (500_000.0 + 1000.0 * int(rng.integers(0, 100)), 6_000_000.0 + 1000.0 * int(rng.integers(0, 100)))
    geotransform = (origin[0], pixel_size, 0.0, origin[1], 0.0, -pixel_size)
    excluded = _excluded(nodata)
    sea_at_acquisition = _sea(~visible)
    return SyntheticScene(dn=dn, labels=labels, truth_lines=_lines(~sea_at_acquisition, excluded, geotransform),
                          datum_lines=_lines(~_sea(~land), excluded, geotransform),
                          tide_m=round(float(np.mean(tide)) * pixel_size, 2), visible_land=visible,
                          geotransform=geotransform, crs_wkt=_crs_wkt(), style=kind, seed=seed)


def _write_raster(path: Path, array: np.ndarray, scene: SyntheticScene, nodata: int | None) -> None:
    from osgeo import gdal

    gdal.UseExceptions()
    data_type = gdal.GDT_UInt16 if array.dtype == np.uint16 else gdal.GDT_Byte
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, data_type,
                                                   options=["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
    dataset.SetGeoTransform(scene.geotransform)
    dataset.SetProjection(scene.crs_wkt)
    band = dataset.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(array)
    dataset = None


def write_scene(scene: SyntheticScene, folder: str | Path, name: str) -> ScenePaths:
    """The image (uint16 GeoTIFF, 0 = no data), the labels and the ground truth GeoPackage."""
    from .metric import sample_along
    from .vector import POINT, Feature, Layer, write_layers

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = ScenePaths(folder / f"{name}.tif", folder / f"{name}_truth.gpkg", folder / f"{name}_labels.tif")
    _write_raster(paths.image, scene.dn, scene, 0)
    _write_raster(paths.labels, scene.labels, scene, None)
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
    args = parser.parse_args()
    scene = generate_scene(args.size, args.height or args.size, args.seed, args.style)
    paths = write_scene(scene, args.out, args.name)
    print(paths.image, paths.truth, paths.labels, sep="\n")


if __name__ == "__main__":
    main()
