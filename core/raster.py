"""Reading SAR rasters with GDAL in windows, georeferencing, and the input transforms of the method."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from . import georef, scale
from .errors import InputError, OutputError
from .scale import AMPLITUDE, DECIBEL, DN_AMPLITUDE, LINEAR_POWER  # noqa: F401 (the interpretations, named here too)

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
        with _open(self.path) as dataset:
            try:
                return dataset.GetRasterBand(self.band).ReadAsArray(col, row, width, height)
            except RuntimeError as error:
                raise InputError(f"Cannot read rows {row}..{row + height} of '{self.name}': {error}. The file may be "
                                 "damaged or on a drive that went away; check it opens in QGIS.") from None

    def iter_strips(self, strip_height: int = 1024) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, dB strip) over the whole scene, so callers never read it in one go."""
        for row in range(0, self.height, strip_height):
            yield row, self.read_db(0, row, self.width, min(strip_height, self.height - row))


def _gdal():
    """GDAL, imported at the edges only: the engine also runs on arrays where GDAL is absent."""
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


GDAL_TYPE_NAMES = {"uint8": "Byte", "uint16": "UInt16"}


def array_scene(dn: np.ndarray, geotransform: tuple[float, ...], crs_wkt: str = "", name: str = "array") -> Scene:
    """An in-memory scene of amplitude DN (0 = no data), read like a file."""
    return Scene(path="", band=1, width=dn.shape[1], height=dn.shape[0], geotransform=tuple(geotransform),
                 crs_wkt=crs_wkt, nodata=0, data_type=GDAL_TYPE_NAMES.get(str(dn.dtype), str(dn.dtype)),
                 interpretation=DN_AMPLITUDE, name=name,
                 array=dn)


@contextmanager
def _open(path: str):
    gdal = _gdal()
    try:
        dataset = gdal.Open(path, gdal.GA_ReadOnly)
    except RuntimeError as error:
        what = "the warped view of the image" if path.lstrip().startswith("<") else f"'{path}'"
        raise InputError(f"Cannot open {what} as a raster: {error}. Give a GDAL-readable SAR image.") from None
    try:
        yield dataset
    finally:
        dataset = None  # closes the file now rather than at garbage collection


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

    The models' own input is made on the device by core.predict.model_input.
    """
    low, high = window
    return np.clip((db - low) / (high - low), 0.0, 1.0).astype(np.float32)


def open_scene(path: str | os.PathLike, band: int | None = None, calibration_db: float = CF_DB,
               scale_name: str | None = None, output_crs: str = "", *, name: str | None = None,
               source_offset_db=None, notes: tuple[str, ...] = ()) -> Scene:
    """Open and check a SAR raster with GDAL (the plain GDAL reader; core.readers.open_scene dispatches to it);
    raise InputError naming what to fix.

    A raster not on a projected grid (geographic CRS, GCPs, RPCs), or not in `output_crs` when one is given, is read
    through a warped view (core.georef). `scale_name` is a SCALE choice (None or 'auto': detected). Readers of sensor
    products pass `source_offset_db(cols, rows)`: the calibration in dB at source pixel positions, added to
    `calibration_db`.
    """
    path = os.fspath(path)
    name = name or os.path.splitext(os.path.basename(path))[0]
    with _open(path) as dataset:
        try:
            scene = _describe(dataset, path, name, band, calibration_db, scale_name)
            kind = georef.kind_of(dataset, name)
            view = None
            if kind != georef.PROJECTED or (output_crs and not _same_crs(output_crs, scene.crs_wkt)):
                view = georef.warped_view(path, dataset, kind, name, output_crs)
        except RuntimeError as error:  # a GDAL error while describing: still the user's file, not our bug
            raise InputError(f"Cannot read '{name}': {error}. Check it opens in QGIS.") from None
    scene = replace(scene, notes=notes + scene.notes)
    if view is not None:
        with _open(view.xml) as warped:
            scene = replace(scene, path=view.xml, width=warped.RasterXSize, height=warped.RasterYSize,
                            geotransform=tuple(warped.GetGeoTransform()), crs_wkt=view.crs_wkt, nodata=view.nodata,
                            notes=scene.notes + (view.note,))
    if scene.width < MIN_SIDE or scene.height < MIN_SIDE:
        raise InputError(f"'{name}' is {scene.width} x {scene.height} px; at least {MIN_SIDE} x {MIN_SIDE} px are "
                         "needed.")
    if source_offset_db is not None:
        scene = _with_offset(scene, source_offset_db, path, kind if view is not None else None)
    return scene


OFFSET_STEP = 32  # px between the nodes of a calibration grid: the LUTs vary over kilometres


def _with_offset(scene: Scene, source_offset_db, source: str, kind: str | None) -> Scene:
    """The scene with a sensor's calibration (given at source pixel positions) on a grid over its own pixels."""
    cols, rows = np.meshgrid(np.arange(0, scene.width + OFFSET_STEP, OFFSET_STEP, dtype=float),
                             np.arange(0, scene.height + OFFSET_STEP, OFFSET_STEP, dtype=float))
    if kind is not None:
        cols, rows = georef.source_positions(source, kind, scene.path, cols, rows)
    grid = np.asarray(source_offset_db(cols, rows), np.float32)
    if not np.isfinite(grid).any():
        raise InputError(f"The calibration of '{scene.name}' gives no value over the image; check the product.")
    grid = np.where(np.isfinite(grid), grid, np.nanmedian(grid)).astype(np.float32)  # outside the footprint
    return replace(scene, offset_db=grid, offset_step=OFFSET_STEP)


def _same_crs(text: str, wkt: str) -> bool:
    return bool(wkt) and georef.srs_of(text).IsSame(georef.srs_of(wkt))


def _describe(dataset, path: str, name: str, band: int | None, calibration_db: float,
              scale_name: str | None) -> Scene:
    """The Scene of `dataset` on its own pixel grid: band, values, no-data, date (georeferencing is checked next)."""
    from osgeo import gdal

    count = dataset.RasterCount
    band_choice = None
    if count == 0:
        raise InputError(f"'{name}' has no raster band. If it is a container (HDF5, a SAFE product), give one of its "
                         "subdatasets or the product itself.")
    if band is None:
        if count > 2:
            raise InputError(f"'{name}' has {count} bands. Choose the band that holds the SAR amplitude (BAND).")
        band, band_choice = (1, None) if count == 1 else _dual_pol_band(dataset)
    if not 1 <= band <= count:
        raise InputError(f"Band {band} does not exist: '{name}' has {count} band(s).")
    raster_band = dataset.GetRasterBand(band)
    data_type = gdal.GetDataTypeName(raster_band.DataType)
    interpretation, reason, warnings = scale.detect(raster_band, data_type, name, scale_name)
    if data_type.startswith("Float"):
        masked = scale.sea_masked_warning(raster_band, interpretation, name)
        warnings += [masked] if masked else []
    metadata = dataset.GetMetadata() or {}
    date = next((metadata[key] for key in ("ACQUISITION_DATE", "TIFFTAG_DATETIME", "ACQUISITION_START_TIME")
                 if metadata.get(key)), None)
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    return Scene(path=path, band=band, width=dataset.RasterXSize, height=dataset.RasterYSize,
                 geotransform=tuple(geotransform or georef.DEFAULT_GEOTRANSFORM), crs_wkt=dataset.GetProjection(),
                 nodata=raster_band.GetNoDataValue(), data_type=data_type,
                 interpretation=interpretation, name=name, acquisition_date=date, calibration_db=calibration_db,
                 band_choice=band_choice, scale_reason=reason, warnings=tuple(warnings))


def _dual_pol_band(dataset, side: int = 512) -> tuple[int, str]:
    """The band of a two-band (dual-pol) raster that separates water from land best, and why.

    The rule: each band is read averaged over at least 2 x 2 pixels and to at most `side` px (speckle mostly
    gone), in dB, and split at its Otsu threshold; the band whose two classes stand further apart for their
    spread (Fisher's ratio: squared difference of the means over the sum of the variances) wins. It is usually
    the cross-pol band (VH, HV), whose sea stays dark under wind; BAND overrides it.
    """
    from .classical import otsu_threshold

    factor = max(2.0, max(dataset.RasterXSize, dataset.RasterYSize) / side)
    width, height = max(1, round(dataset.RasterXSize / factor)), max(1, round(dataset.RasterYSize / factor))
    separations = []
    for index in (1, 2):
        raster_band = dataset.GetRasterBand(index)
        values = raster_band.ReadAsArray(buf_xsize=width, buf_ysize=height,
                                         resample_alg=_gdal().GRIORA_Average).astype(np.float64)
        nodata = raster_band.GetNoDataValue()
        valid = np.isfinite(values) & (values > 0 if values.min() >= 0 else np.ones_like(values, bool))
        if nodata is not None:
            valid &= values != nodata
        db = values[valid] if values.min() < 0 else 10.0 * np.log10(values[valid])
        if db.size < 16 or np.ptp(db) == 0:
            separations.append(0.0)
            continue
        threshold = otsu_threshold(db)
        low, high = db[db <= threshold], db[db > threshold]
        spread = low.var() + high.var() if low.size > 1 and high.size > 1 else 0.0
        separations.append(float((high.mean() - low.mean()) ** 2 / spread) if spread > 0 else 0.0)
    band = int(np.argmax(separations)) + 1
    names = [dataset.GetRasterBand(index).GetDescription() or f"band {index}" for index in (1, 2)]
    return band, (f"two bands and no BAND given: band {band} ({names[band - 1]}) chosen, as it separates water "
                  f"from land better (Fisher ratio {separations[band - 1]:.2f} against {separations[2 - band]:.2f}; "
                  "set BAND to override)")


def pixel_to_map(geotransform: tuple[float, ...], x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Continuous pixel coordinates (x = column, y = row, pixel corners at integers) to map coordinates."""
    gt = geotransform
    return gt[0] + x * gt[1] + y * gt[2], gt[3] + x * gt[4] + y * gt[5]


def map_to_pixel(geotransform: tuple[float, ...], mx: np.ndarray, my: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of pixel_to_map."""
    gt = geotransform
    determinant = gt[1] * gt[5] - gt[2] * gt[4]
    dx, dy = mx - gt[0], my - gt[3]
    return (gt[5] * dx - gt[2] * dy) / determinant, (gt[1] * dy - gt[4] * dx) / determinant


def scene_preview(scene: Scene, max_side: int = 1600) -> tuple[np.ndarray, tuple[float, ...]]:
    """A reduced dB image (GDAL average resampling) and its geotransform, for pictures of any scene size."""
    factor = max(1.0, max(scene.width, scene.height) / max_side)
    width, height = max(1, round(scene.width / factor)), max(1, round(scene.height / factor))
    if scene.array is not None:
        values = scene.array[::max(1, round(factor)), ::max(1, round(factor))].astype(np.float32)
        width, height = values.shape[1], values.shape[0]
    else:
        with _open(scene.path) as dataset:
            try:
                values = dataset.GetRasterBand(scene.band).ReadAsArray(
                    buf_xsize=width, buf_ysize=height, resample_alg=_gdal().GRIORA_Average).astype(np.float32)
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


class ProbabilityWriter:
    """Writes the fused maps as a float32 GeoTIFF strip by strip; the file appears only when complete."""

    def __init__(self, path: str, scene: Scene, stride: int, bands: dict[str, int]):
        gdal = _gdal()
        self.path = path
        self.temporary = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.partial")
        self.channels = list(bands.values())
        width, height = -(-scene.width // stride), -(-scene.height // stride)
        try:
            self.dataset = gdal.GetDriverByName("GTiff").Create(
                self.temporary, width, height, len(bands), gdal.GDT_Float32,
                options=["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER"])
        except RuntimeError as error:
            raise OutputError(f"Cannot write the probabilities '{path}': {error}. Choose another location.") from None
        gt = scene.geotransform
        self.dataset.SetGeoTransform((gt[0], gt[1] * stride, gt[2] * stride, gt[3], gt[4] * stride, gt[5] * stride))
        self.dataset.SetProjection(scene.crs_wkt)
        for index, name in enumerate(bands, start=1):
            band = self.dataset.GetRasterBand(index)
            band.SetDescription(name)
            band.SetNoDataValue(float("nan"))

    def write(self, first_row: int, strip: np.ndarray) -> None:
        try:
            for index, channel in enumerate(self.channels, start=1):
                self.dataset.GetRasterBand(index).WriteArray(strip[channel], 0, first_row)
        except RuntimeError as error:
            raise OutputError(f"Writing the probabilities '{self.path}' failed: {error} (is the disk full?).") from None

    def close(self) -> None:
        try:
            self.dataset.FlushCache()
            self.dataset = None
            os.replace(self.temporary, self.path)
        except (RuntimeError, OSError) as error:
            self.discard()
            raise OutputError(f"Writing the probabilities '{self.path}' failed: {error}.") from None

    def discard(self) -> None:
        self.dataset = None
        if os.path.exists(self.temporary):
            os.remove(self.temporary)


def scene_db_percentiles(scene: Scene, rows: int = 256) -> tuple[float, float]:
    """The 2nd and 98th percentiles of valid dB, from up to `rows` evenly spaced rows of the scene."""
    picked = np.unique(np.linspace(0, scene.height - 1, min(rows, scene.height)).astype(int))
    values = np.concatenate([scene.read_db(0, int(row), scene.width, 1).ravel() for row in picked])
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise InputError(f"'{scene.name}' holds only no-data pixels.")
    low, high = np.percentile(values, [2, 98])
    return float(low), float(max(high, low + 1.0))


def normalize_db(db, percentiles: tuple[float, float], window: tuple[float, float] = DB_WINDOW):
    """Map a scene's dB percentiles onto the dB window: scenes of any gain and contrast look alike."""
    low, high = percentiles
    return window[0] + (db - low) * (window[1] - window[0]) / (high - low)
