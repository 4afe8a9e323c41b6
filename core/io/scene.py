"""The Scene (a single-band SAR raster opened for windowed reading, or an array), its values in dB,
and reads of it in strips, windows and previews."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .gdal import GDAL_TYPE_NAMES, gdal_module, open_dataset
from .scale import AMPLITUDE, DECIBEL, DN_AMPLITUDE, LINEAR_POWER

CF_DB = -83.0  # PALSAR-2 calibration factor: sigma0 = 10 log10(DN^2) + CF; readers give other sensors theirs


DB_WINDOW = (-30.0, 5.0)  # dB range mapped to [0, 1] by the log transform


MIN_SIDE = 64  # px; smaller scenes carry too little context for any method


with np.errstate(divide="ignore"):
    _DN_TO_DB = (20.0 * np.log10(np.arange(65536, dtype=np.float64)) + CF_DB).astype(np.float32)


_DN_TO_DB[0] = np.nan  # DN 0 is no data


@dataclass(frozen=True)
class Scene:
    """A single-band SAR raster opened for windowed reading; no pixels are held."""

    path: str
    band: int
    width: int
    height: int
    geotransform: tuple[float, ...]
    crs_wkt: str
    nodata: float | None
    data_type: str
    interpretation: str
    name: str
    acquisition_date: str | None = None
    array: np.ndarray | None = field(default=None, repr=False, compare=False)  # in-memory scenes (no GDAL)
    calibration_db: float = CF_DB  # amplitude DN: sigma0 = 10 log10(DN^2) + calibration_db
    band_choice: str | None = None  # why this band, when the reader chose it
    scale_reason: str = ""  # why the values were read as they are
    notes: tuple[str, ...] = ()  # what the reader did (warping, calibration), for the run's log
    warnings: tuple[str, ...] = ()  # what the user must know about this input
    # A sensor's calibration that varies over the image (Sentinel-1's LUT): dB added to calibration_db, on a grid
    # of nodes every offset_step pixels, interpolated bilinearly per window.
    offset_db: np.ndarray | None = field(default=None, repr=False, compare=False)
    offset_step: int = 0

    @property
    def pixel_size(self) -> float:
        return float(np.hypot(self.geotransform[1], self.geotransform[4]))

    def describe_interpretation(self) -> str:
        if self.band_choice:
            return f"{self.band_choice}; {self._describe_values()}"
        return self._describe_values()

    def _describe_values(self) -> str:
        why = f" ({self.scale_reason})" if self.scale_reason else ""
        if self.interpretation == DN_AMPLITUDE:
            if self.offset_db is not None:
                low, high = self.calibration_db + np.nanpercentile(self.offset_db, [0, 100])
                return (f"band {self.band} ({self.data_type}) read as amplitude DN{why}, calibrated to sigma0 with "
                        f"the product's calibration table ({low:.1f} to {high:.1f} dB)")
            return (f"band {self.band} ({self.data_type}) read as amplitude DN{why}, "
                    f"calibrated to sigma0 with CF {self.calibration_db:g} dB")
        if self.interpretation == LINEAR_POWER:
            return f"band {self.band} ({self.data_type}) read as linear sigma0 power{why}, converted to dB"
        if self.interpretation == AMPLITUDE:
            return f"band {self.band} ({self.data_type}) read as amplitude (square root of power){why}, converted to dB"
        return f"band {self.band} ({self.data_type}) read as sigma0 in dB{why}"

    def read(self, col: int = 0, row: int = 0, width: int | None = None, height: int | None = None) -> np.ndarray:
        """Raw band values of a window (float32), no-data as NaN."""
        return self.mask_nodata(self._read_raw(col, row, width, height).astype(np.float32))

    def mask_nodata(self, values: np.ndarray) -> np.ndarray:
        """Set no-data to NaN in place: the band's no-data value, and DN 0 (no data in SAR products)."""
        invalid = ~np.isfinite(values)
        if self.nodata is not None:
            invalid |= values == self.nodata
        if self.interpretation != DECIBEL:
            invalid |= values <= 0
        values[invalid] = np.nan
        return values

    def read_db(self, col: int = 0, row: int = 0, width: int | None = None, height: int | None = None) -> np.ndarray:
        """sigma0 in dB of a window (float32), no-data as NaN."""
        if self.interpretation == DN_AMPLITUDE and self.data_type in ("Byte", "UInt16"):
            raw = self._read_raw(col, row, width, height)
            db = _DN_TO_DB[raw]  # a table look-up: several times faster than a logarithm per pixel
            if self.calibration_db != CF_DB:
                db += self.calibration_db - CF_DB
            if self.nodata is not None and float(self.nodata).is_integer() and 0 < self.nodata < len(_DN_TO_DB):
                db[raw == int(self.nodata)] = np.nan
        else:
            db = values_to_db(self.read(col, row, width, height), self.interpretation, self.calibration_db)
        if self.offset_db is not None:
            db += self._offset(int(col), int(row), db.shape[1], db.shape[0])
        return db

    def _offset(self, col: int, row: int, width: int, height: int) -> np.ndarray:
        """The calibration grid interpolated bilinearly at a window's pixel centres (grid node k at pixel k*step)."""
        grid, step = self.offset_db, self.offset_step

        def weights(start: int, count: int, nodes: int):
            position = np.clip((np.arange(start, start + count) + 0.5) / step, 0, nodes - 1)
            low = np.minimum(position.astype(int), nodes - 2) if nodes > 1 else np.zeros(count, int)
            return low, (position - low).astype(np.float32)

        x0, fx = weights(col, width, grid.shape[1])
        y0, fy = weights(row, height, grid.shape[0])
        x1, y1 = np.minimum(x0 + 1, grid.shape[1] - 1), np.minimum(y0 + 1, grid.shape[0] - 1)
        along = grid[:, x0] * (1 - fx) + grid[:, x1] * fx  # (grid rows, width)
        return (along[y0] * (1 - fy)[:, None] + along[y1] * fy[:, None]).astype(np.float32)

    def _read_raw(self, col: int, row: int, width: int | None, height: int | None) -> np.ndarray:
        col, row = int(col), int(row)  # GDAL refuses numpy integers
        width = self.width - col if width is None else int(width)
        height = self.height - row if height is None else int(height)
        if self.array is not None:
            return self.array[row:row + height, col:col + width]
        with open_dataset(self.path) as dataset:
            try:
                return dataset.GetRasterBand(self.band).ReadAsArray(col, row, width, height)
            except RuntimeError as error:
                raise InputError(f"Cannot read rows {row}..{row + height} of '{self.name}': {error}. The file may be "
                                 "damaged or on a drive that went away; check it opens in QGIS.") from None

    def iter_strips(self, strip_height: int = 1024) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, dB strip) over the whole scene, so callers never read it in one go."""
        for row in range(0, self.height, strip_height):
            yield row, self.read_db(0, row, self.width, min(strip_height, self.height - row))


def array_scene(dn: np.ndarray, geotransform: tuple[float, ...], crs_wkt: str = "", name: str = "array") -> Scene:
    """An in-memory scene of amplitude DN (0 = no data), read like a file."""
    return Scene(path="", band=1, width=dn.shape[1], height=dn.shape[0], geotransform=tuple(geotransform),
                 crs_wkt=crs_wkt, nodata=0, data_type=GDAL_TYPE_NAMES.get(str(dn.dtype), str(dn.dtype)),
                 interpretation=DN_AMPLITUDE, name=name,
                 array=dn)


def values_to_db(values: np.ndarray, interpretation: str = DN_AMPLITUDE, cf: float = CF_DB) -> np.ndarray:
    """Band values (NaN = no data) to sigma0 in dB, by the interpretation chosen at opening."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if interpretation == DN_AMPLITUDE:
            return (20.0 * np.log10(values) + cf).astype(np.float32)
        if interpretation == LINEAR_POWER:
            return (10.0 * np.log10(values)).astype(np.float32)
        if interpretation == AMPLITUDE:
            return (20.0 * np.log10(values)).astype(np.float32)
    return values.astype(np.float32)


def log_transform(db: np.ndarray, window: tuple[float, float] = DB_WINDOW) -> np.ndarray:
    """Calibrated dB mapped from a fixed window to [0, 1] (NaN stays NaN): the models' log input, for display.

    The models' own input is made on the device by core.inference.inputs.model_input.
    """
    low, high = window
    return np.clip((db - low) / (high - low), 0.0, 1.0).astype(np.float32)


def scene_preview(scene: Scene, max_side: int = 1600) -> tuple[np.ndarray, tuple[float, ...]]:
    """A reduced dB image (GDAL average resampling) and its geotransform, for pictures of any scene size."""
    factor = max(1.0, max(scene.width, scene.height) / max_side)
    width, height = max(1, round(scene.width / factor)), max(1, round(scene.height / factor))
    if scene.array is not None:
        values = scene.array[::max(1, round(factor)), ::max(1, round(factor))].astype(np.float32)
        width, height = values.shape[1], values.shape[0]
    else:
        with open_dataset(scene.path) as dataset:
            try:
                values = dataset.GetRasterBand(scene.band).ReadAsArray(
                    buf_xsize=width, buf_ysize=height, resample_alg=gdal_module().GRIORA_Average).astype(np.float32)
            except RuntimeError as error:
                raise InputError(f"Cannot read a preview of '{scene.name}': {error}.") from None
    scene.mask_nodata(values)
    gt = scene.geotransform
    sx, sy = scene.width / width, scene.height / height
    preview_geotransform = (gt[0], gt[1] * sx, gt[2] * sy, gt[3], gt[4] * sx, gt[5] * sy)
    offset = float(np.median(scene.offset_db)) if scene.offset_db is not None else 0.0  # a picture: its median will do
    return values_to_db(values, scene.interpretation, scene.calibration_db + offset), preview_geotransform


def read_padded_db(scene: Scene, col: int, row: int, side: int) -> np.ndarray:
    """A side x side dB window that may reach past the scene; outside pixels are NaN (no data)."""
    window = np.full((side, side), np.nan, np.float32)
    col0, row0 = max(col, 0), max(row, 0)
    col1, row1 = min(col + side, scene.width), min(row + side, scene.height)
    if col1 > col0 and row1 > row0:
        window[row0 - row:row1 - row, col0 - col:col1 - col] = scene.read_db(col0, row0, col1 - col0, row1 - row0)
    return window


STRIP_PIXELS = 4_000_000  # per strip: bounds the working memory (~30 bytes a pixel) whatever the scene size


def strip_height_for(width: int, strip_pixels: int = STRIP_PIXELS) -> int:
    """Rows per strip so a strip holds about `strip_pixels`, and at least a few rows."""
    return max(4, strip_pixels // max(width, 1))
