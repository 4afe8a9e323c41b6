"""Generated time series with known motion: one coast at several dates, retreating in the north and accreting
in the south at known rates, plus noise, as SAR rasters (for tests, the README picture and demos).

The coast runs north-south with land to the west. Its position at row r and time t (years after the first
date) is x0 + wiggle(r) + rate(r) * t + noise(r, t); the rasters carry their date as ACQUISITION_DATE metadata,
which Extract coastline writes into the lines' date field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..core.change.dates import decimal_year
from ..core.io.scene import CF_DB
from .scenes import CRS_EPSG

DEFAULT_DATES = (datetime(2016, 6, 1), datetime(2018, 3, 15), datetime(2019, 9, 1), datetime(2021, 5, 20),
                 datetime(2023, 2, 10))
ORIGIN = (500_000.0, 6_000_000.0)


@dataclass(frozen=True)
class MovingCoast:
    """The motion: `north_rate` m/yr over the northern part, `south_rate` over the southern, a smooth change of
    `transition_px` rows between; positive = seaward (east)."""

    size: int = 384
    pixel_size: float = 3.0
    north_rate: float = -6.0
    south_rate: float = 4.0
    transition_px: float = 20.0
    wiggle_px: float = 12.0  # amplitude of the coast's fixed shape
    noise_m: float = 3.0  # standard deviation of each date's smooth position noise
    seed: int = 0

    def rate_at_y(self, y: np.ndarray) -> np.ndarray:
        """True rate (m/yr) at map y."""
        row = (ORIGIN[1] - np.asarray(y, float)) / self.pixel_size
        share = 0.5 + 0.5 * np.tanh((row - self.size / 2) / self.transition_px)
        return self.north_rate + (self.south_rate - self.north_rate) * share

    @property
    def geotransform(self) -> tuple[float, ...]:
        return (ORIGIN[0], self.pixel_size, 0.0, ORIGIN[1], 0.0, -self.pixel_size)


@dataclass
class SeriesScene:
    dn: np.ndarray
    when: datetime
    truth: np.ndarray  # the true water line (N, 2), land on its left (it runs north)


def coast_columns(coast: MovingCoast, dates=DEFAULT_DATES) -> list[np.ndarray]:
    """Per date, the coast's column (sub-pixel) in every row."""
    rng = np.random.default_rng(coast.seed)
    rows = np.arange(coast.size) + 0.5
    wiggle = ndimage.gaussian_filter1d(rng.standard_normal(coast.size), coast.size / 16, mode="wrap")
    wiggle *= coast.wiggle_px / max(float(np.abs(wiggle).max()), 1e-9)
    rate_px = coast.rate_at_y(ORIGIN[1] - rows * coast.pixel_size) / coast.pixel_size
    start = decimal_year(dates[0])
    columns = []
    for when in dates:
        noise = ndimage.gaussian_filter1d(rng.standard_normal(coast.size), 6, mode="wrap")
        noise *= coast.noise_m / coast.pixel_size / max(float(noise.std()), 1e-9)
        columns.append(coast.size * 0.5 + wiggle + rate_px * (decimal_year(when) - start) + noise)
    return columns


def generate_series(coast: MovingCoast | None = None, dates=DEFAULT_DATES) -> list[SeriesScene]:
    """One speckled scene per date: sea about -20 dB, textured land about -7 dB, 3-look Gamma speckle, DN
    calibrated with CF -83 dB (as the plugin reads ALOS-2)."""
    coast = coast or MovingCoast()
    rng = np.random.default_rng(coast.seed + 1)
    shape = (coast.size, coast.size)
    cols = np.arange(coast.size)[None, :] + 0.5
    scenes = []
    for when, column in zip(dates, coast_columns(coast, dates)):
        land = cols < column[:, None]
        texture = ndimage.gaussian_filter(rng.standard_normal(shape), 3)
        db = np.where(land, -7.0 + 8.0 * texture, -20.0 + 4.0 * texture)
        intensity = 10.0 ** (db / 10.0) * rng.gamma(3.0, 1.0 / 3.0, shape)
        dn = np.clip(np.rint(np.sqrt(intensity / 10.0 ** (CF_DB / 10.0))), 1, 65535).astype(np.uint16)
        rows = np.arange(coast.size)[::-1] + 0.5  # south to north: land (west) on the left
        truth = np.column_stack([ORIGIN[0] + column[::-1] * coast.pixel_size,
                                 ORIGIN[1] - rows * coast.pixel_size])
        scenes.append(SeriesScene(dn, when, truth))
    return scenes


def write_series(scenes: list[SeriesScene], coast: MovingCoast, folder: str | Path,
                 name: str = "coast") -> list[Path]:
    """GeoTIFFs `<name>_<YYYYMMDD>.tif` (uint16, 0 = no data) with ACQUISITION_DATE metadata."""
    from osgeo import gdal, osr

    gdal.UseExceptions()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(CRS_EPSG)
    paths = []
    for scene in scenes:
        path = folder / f"{name}_{scene.when:%Y%m%d}.tif"
        dataset = gdal.GetDriverByName("GTiff").Create(str(path), coast.size, coast.size, 1, gdal.GDT_UInt16)
        dataset.SetGeoTransform(coast.geotransform)
        dataset.SetProjection(srs.ExportToWkt())
        dataset.SetMetadataItem("ACQUISITION_DATE", scene.when.date().isoformat())
        band = dataset.GetRasterBand(1)
        band.SetNoDataValue(0)
        band.WriteArray(scene.dn)
        dataset = None
        paths.append(path)
    return paths


def onshore_baseline(coast: MovingCoast, inland_m: float = 200.0) -> np.ndarray:
    """A straight baseline `inland_m` west of the coast's mean position, running north (for tests)."""
    x = ORIGIN[0] + coast.size * 0.5 * coast.pixel_size - inland_m
    return np.array([[x, ORIGIN[1] - coast.size * coast.pixel_size], [x, ORIGIN[1]]])
