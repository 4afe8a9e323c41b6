"""Opening a GDAL raster as a Scene: band choice (dual-pol), scale, calibration offsets, warping."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..imaging.threshold import otsu_threshold
from ..io import georef, scale
from .gdal import gdal_module, open_dataset
from .scene import CF_DB, MIN_SIDE, Scene


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
    with open_dataset(path) as dataset:
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
        with open_dataset(view.xml) as warped:
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
        band, band_choice = (1, None) if count == 1 else dual_pol_band(dataset)
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


def dual_pol_band(dataset, side: int = 512) -> tuple[int, str]:
    """The band of a two-band (dual-pol) raster that separates water from land best, and why.

    The rule: each band is read averaged over at least 2 x 2 pixels and to at most `side` px (speckle mostly
    gone), in dB, and split at its Otsu threshold; the band whose two classes stand further apart for their
    spread (Fisher's ratio: squared difference of the means over the sum of the variances) wins. It is usually
    the cross-pol band (VH, HV), whose sea stays dark under wind; BAND overrides it.
    """

    factor = max(2.0, max(dataset.RasterXSize, dataset.RasterYSize) / side)
    width, height = max(1, round(dataset.RasterXSize / factor)), max(1, round(dataset.RasterYSize / factor))
    separations = []
    for index in (1, 2):
        raster_band = dataset.GetRasterBand(index)
        values = raster_band.ReadAsArray(buf_xsize=width, buf_ysize=height,
                                         resample_alg=gdal_module().GRIORA_Average).astype(np.float64)
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


def companion_band(scene: Scene) -> Scene | None:
    """The other band of a two-band (dual-pol) raster, read as `scene` is (same grid, scale and calibration), for
    methods that use both polarisations; None for a single band, an array or a product with its own reader."""
    if scene.array is not None or scene.offset_db is not None or not os.path.exists(scene.path):
        return None
    with open_dataset(scene.path) as dataset:
        if dataset.RasterCount != 2:
            return None
    return replace(scene, band=3 - scene.band, band_choice=None)
