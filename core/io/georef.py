"""Georeferencing: how a raster sits on the ground, and a warped view onto a projected grid when it is not there.

A raster in a geographic CRS, or placed only by GCPs or RPCs, is read through a GDAL warped VRT onto the local UTM
zone (or a CRS the user gives) at its native ground pixel size: GDAL warps the windows the engine reads, so no
whole-scene copy is made. The VRT is kept as its XML text, which GDAL opens like a file name and which travels
with the Scene to any process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

PROJECTED, GEOGRAPHIC, GCPS, RPCS = "projected", "geographic", "GCPs", "RPCs"
DEFAULT_GEOTRANSFORM = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
RESAMPLING = "bilinear"  # at about the native pixel size: smooth, and it keeps no-data out of valid pixels
TPS_MIN_GCPS = 10  # a thin-plate spline fits a dense GCP grid (Sentinel-1's) exactly; fewer GCPs: a polynomial


def _osr():
    from osgeo import osr

    osr.UseExceptions()
    return osr


def srs_of(text: str):
    """An OSR spatial reference, traditional x = easting order, from WKT, 'EPSG:n' or PROJ text."""
    osr = _osr()
    srs = osr.SpatialReference()
    try:
        srs.SetFromUserInput(text)
    except RuntimeError as error:
        raise InputError(f"The CRS '{text[:80]}' is not understood ({error}). Give e.g. 'EPSG:32633'.") from None
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def projected_wkt(text: str) -> str:
    """The WKT of a user's output CRS, which must be projected (the engine measures in metres)."""
    srs = srs_of(text)
    if not srs.IsProjected():
        raise InputError(f"OUTPUT_CRS {srs.GetName()} is not projected; lines are measured in metres. Give a projected "
                         "CRS such as the local UTM zone, or leave it empty for the local UTM zone.")
    return srs.ExportToWkt()


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding (lon, lat)."""
    zone = min(60, max(1, int(math.floor((lon + 180.0) / 6.0)) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def kind_of(dataset, name: str) -> str:
    """How `dataset` is placed on the ground (PROJECTED, GEOGRAPHIC, GCPS, RPCS); InputError when it is not, naming
    what is missing."""
    wkt = dataset.GetProjection()
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    if geotransform is not None and tuple(geotransform) != DEFAULT_GEOTRANSFORM:
        if not wkt:
            raise InputError(f"'{name}' has no coordinate reference system. Assign its CRS (Raster > Projections > "
                             "Assign Projection, or gdal_edit.py -a_srs) and run again.")
        return PROJECTED if _osr().SpatialReference(wkt=wkt).IsProjected() else GEOGRAPHIC
    if dataset.GetGCPCount() >= 3:
        if not dataset.GetGCPProjection():
            raise InputError(f"'{name}' has {dataset.GetGCPCount()} GCPs but no CRS for them. Assign the GCPs' CRS "
                             "(gdal_edit.py -a_srs EPSG:4326 for latitude/longitude GCPs) and run again.")
        return GCPS
    if dataset.GetMetadata("RPC"):
        return RPCS
    if wkt:
        raise InputError(f"'{name}' has a CRS but no geotransform (no pixel size or origin) and no GCPs: its pixels "
                         "cannot be placed on the ground. Georeference it (Raster > Georeferencer, or gdal_edit.py "
                         "-a_ullr) and run again.")
    raise InputError(f"'{name}' has no georeferencing: no geotransform, no GCPs, no RPCs. Georeference it (Raster > "
                     "Georeferencer) and run again.")


def transformer_options(dataset, kind: str) -> list[str]:
    if kind == GCPS:
        return ["METHOD=GCP_TPS"] if dataset.GetGCPCount() >= TPS_MIN_GCPS else ["METHOD=GCP_POLYNOMIAL"]
    if kind == RPCS:
        return ["METHOD=RPC"]
    return ["METHOD=GEOTRANSFORM"]


def centre_lonlat(dataset, kind: str) -> tuple[float, float]:
    from osgeo import gdal

    transformer = gdal.Transformer(dataset, None, [*transformer_options(dataset, kind), "DST_SRS=EPSG:4326"])
    ok, (lon, lat, _z) = transformer.TransformPoint(0, dataset.RasterXSize / 2.0, dataset.RasterYSize / 2.0)
    if not ok:
        raise InputError("The centre of the image cannot be placed on the ground; check its georeferencing.")
    return lon, lat


def ground_pixel_size(dataset, kind: str, target_wkt: str) -> float:
    """The side of a square pixel of the same ground area as the raster's own pixels (median over a 3 x 3 grid)."""
    from osgeo import gdal

    transformer = gdal.Transformer(dataset, None, [*transformer_options(dataset, kind), f"DST_SRS={target_wkt}"])
    sizes = []
    for fx in (0.25, 0.5, 0.75):
        for fy in (0.25, 0.5, 0.75):
            x, y = fx * dataset.RasterXSize, fy * dataset.RasterYSize
            points, status = transformer.TransformPoints(0, [(x, y), (x + 1, y), (x, y + 1)])
            if not all(status):
                continue
            (x0, y0, _), (x1, y1, _), (x2, y2, _) = points
            area = abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))
            if area > 0:
                sizes.append(math.sqrt(area))
    if not sizes:
        raise InputError("The image's pixels cannot be placed on the ground; check its georeferencing.")
    return float(np.median(sizes))


@dataclass(frozen=True)
class WarpedView:
    xml: str  # the warped VRT: GDAL opens this text as a dataset
    crs_wkt: str
    pixel_size: float
    nodata: float
    note: str


def warped_view(source: str, dataset, kind: str, name: str, output_crs: str = "") -> WarpedView:
    """A warped VRT of `dataset` (opened from `source`) on a projected grid: `output_crs`, else the local UTM zone."""
    from osgeo import gdal

    if output_crs:
        target_wkt = projected_wkt(output_crs)
    else:
        lon, lat = centre_lonlat(dataset, kind)
        target_wkt = srs_of(f"EPSG:{utm_epsg(lon, lat)}").ExportToWkt()
    target_name = srs_of(target_wkt).GetName()
    pixel_size = ground_pixel_size(dataset, kind, target_wkt)
    band = dataset.GetRasterBand(1)
    source_nodata = band.GetNoDataValue()
    is_float = gdal.GetDataTypeName(band.DataType).startswith("Float")
    if source_nodata is None:
        source_nodata = float("nan") if is_float else 0.0  # DN 0 is no data in SAR products
    options = gdal.WarpOptions(format="VRT", dstSRS=target_wkt, xRes=pixel_size, yRes=pixel_size,
                               resampleAlg=RESAMPLING, srcNodata=source_nodata, dstNodata=source_nodata,
                               transformerOptions=transformer_options(dataset, kind), multithread=False)
    try:
        view = gdal.Warp("", source, options=options)
        xml = view.GetMetadata("xml:VRT")[0]
        view = None
    except (RuntimeError, IndexError, TypeError) as error:
        raise InputError(f"Cannot warp '{name}' onto {target_name}: {error}. Check its georeferencing.") from None
    how = {GEOGRAPHIC: "is in a geographic CRS", GCPS: f"is placed by {dataset.GetGCPCount()} GCPs",
           RPCS: "is placed by RPCs (at height 0)", PROJECTED: "is in another CRS"}[kind]
    note = (f"'{name}' {how}: read through a warped view on {target_name}"
            f"{'' if output_crs else ' (the local UTM zone; OUTPUT_CRS to change)'} at {pixel_size:.2f} m pixels "
            f"(its native ground pixel size), {RESAMPLING} resampling; the lines are in {target_name}.")
    return WarpedView(xml=xml, crs_wkt=target_wkt, pixel_size=pixel_size, nodata=source_nodata, note=note)


def source_positions(source: str, kind: str, view_xml: str, cols: np.ndarray, rows: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Source (column, row) of pixel positions in a warped view: where a sensor's calibration LUT is looked up."""
    from osgeo import gdal

    dataset, view = gdal.Open(source), gdal.Open(view_xml)
    transformer = gdal.Transformer(dataset, view, transformer_options(dataset, kind))
    points, _status = transformer.TransformPoints(1, list(zip(cols.ravel().tolist(), rows.ravel().tolist())))
    transformer = dataset = view = None
    points = np.array(points, float).reshape(-1, 3)
    return points[:, 0].reshape(cols.shape), points[:, 1].reshape(cols.shape)


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
