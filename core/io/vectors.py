"""Vector files: features and layers written with OGR (GeoPackage, Shapefile, GeoJSON), lines read
and reprojected."""

from __future__ import annotations

import numbers
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, OutputError
from .gdal import closing_errors
from .writing import check_free_space, output_error

LINE, POINT = "line", "point"


DRIVERS = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON"}


SINGLE_LAYER_DRIVERS = ("ESRI Shapefile", "GeoJSON")


SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")  # an old one left would not match

# What a vector file takes on disk, about: an empty GeoPackage is about 100 KB; a vertex 16 bytes plus indexes.
FILE_BASE_BYTES = 128 * 1024
VERTEX_BYTES = 24
FEATURE_BYTES = 256


def estimated_size(vertex_count: int, feature_count: int) -> int:
    """Bytes a vector file of this many vertices and features needs while it is written (its journal included)."""
    return FILE_BASE_BYTES + VERTEX_BYTES * vertex_count + FEATURE_BYTES * feature_count


@dataclass
class Feature:
    """One feature in map coordinates: a line (N, 2) or a point (2,), and its attributes."""

    coords: np.ndarray
    attributes: dict = field(default_factory=dict)


@dataclass
class Layer:
    """A named layer of features of one geometry type (LINE or POINT)."""

    name: str
    features: Sequence[Feature]
    geometry: str = LINE


def write_layers(path: str | os.PathLike, layers: Sequence[Layer], crs_wkt: str) -> str:
    """The one OGR writer: named layers of line or point features with their attributes, in the CRS given.

    The format follows the extension: GeoPackage (.gpkg, several layers), Shapefile (.shp) or GeoJSON (.geojson,
    .json), one layer each. The files appear only when complete: they are written in a temporary folder beside
    the output, then moved into place; the disk's free space is checked first. Raises OutputError saying why.
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    driver_name = DRIVERS.get(os.path.splitext(name)[1].lower())
    if driver_name is None:
        raise OutputError(f"Cannot write '{path}': use a .gpkg, .shp or .geojson file name.")
    if driver_name in SINGLE_LAYER_DRIVERS and len(layers) != 1:
        raise OutputError(f"Cannot write {len(layers)} layers to '{path}': a {driver_name} file holds one. "
                          "Use a .gpkg file.")
    if driver_name == "GeoJSON" and crs_wkt and not _has_epsg(crs_wkt):
        raise OutputError(f"Cannot write '{path}': GeoJSON names its CRS by an EPSG code, and this CRS has none (its "
                          "readers would take the lines for EPSG:4326). Write a .gpkg, or choose an EPSG OUTPUT_CRS.")
    features = [feature for layer in layers for feature in layer.features]
    check_free_space(path, estimated_size(sum(np.size(feature.coords) // 2 for feature in features), len(features)),
                     "the lines")
    temporary = None
    moved = []
    try:
        temporary = tempfile.mkdtemp(prefix=f".partial.{name}.", dir=folder)
        _write_ogr(os.path.join(temporary, name), driver_name, layers, crs_wkt)
        written = os.listdir(temporary)  # a Shapefile is several files
        if driver_name == "ESRI Shapefile":
            stem = os.path.splitext(name)[0]
            for stale in {stem + part for part in SHAPEFILE_PARTS} - set(written):
                if os.path.exists(os.path.join(folder, stale)):
                    os.remove(os.path.join(folder, stale))
        for part in written:
            os.replace(os.path.join(temporary, part), os.path.join(folder, part))
            moved.append(os.path.join(folder, part))
    except (OSError, RuntimeError) as error:
        for part in moved:  # a file set half moved would not open: take back what was moved
            if os.path.exists(part):
                os.remove(part)
        raise output_error(path, error, "the lines") from None
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return path


def _write_ogr(path: str, driver_name: str, layers: Sequence[Layer], crs_wkt: str) -> None:
    from osgeo import ogr, osr

    ogr.UseExceptions()
    srs = osr.SpatialReference(wkt=crs_wkt) if crs_wkt else None
    if srs is not None:
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # x = easting, whatever the CRS's axis order
    dataset = ogr.GetDriverByName(driver_name).CreateDataSource(path)
    failure = None
    try:
        for layer in layers:
            _write_layer(dataset, layer, srs)
    except RuntimeError as error:
        failure = str(error)  # not the error itself: its traceback holds the layer, which holds the file open
    with closing_errors() as errors:  # closes (and flushes) the file, before the caller removes a failed one
        dataset = None
    if failure is None and errors:
        failure = str(errors[0])
    if failure is not None:
        raise RuntimeError(failure)


def _has_epsg(crs_wkt: str) -> bool:
    from osgeo import osr

    srs = osr.SpatialReference(wkt=crs_wkt)
    if srs.GetAuthorityCode(None) is not None:
        return True
    try:
        return srs.AutoIdentifyEPSG() == 0
    except RuntimeError:  # osr raises where it cannot identify one
        return False


def _write_layer(dataset, layer: Layer, srs) -> None:
    from osgeo import ogr

    geometry_type = {LINE: ogr.wkbLineString, POINT: ogr.wkbPoint}[layer.geometry]
    target = dataset.CreateLayer(layer.name, srs, geometry_type)
    fields = list(dict.fromkeys(key for feature in layer.features for key in feature.attributes))
    for key in fields:
        sample = next((feature.attributes[key] for feature in layer.features
                       if feature.attributes.get(key) is not None), "")
        target.CreateField(ogr.FieldDefn(key, _field_type(sample)))
    definition = target.GetLayerDefn()
    field_index = {key: index for index, key in enumerate(fields)}  # by index: Shapefiles shorten long names
    for feature in layer.features:
        written = ogr.Feature(definition)
        for key, value in feature.attributes.items():
            if value is not None:
                written.SetField(field_index[key], _field_value(value))
        geometry = ogr.Geometry(geometry_type)
        for x, y in np.reshape(feature.coords, (-1, 2)):
            geometry.AddPoint_2D(float(x), float(y))
        written.SetGeometry(geometry)
        target.CreateFeature(written)


def _field_type(sample) -> int:
    from osgeo import ogr

    if isinstance(sample, numbers.Integral) and not isinstance(sample, bool):
        return ogr.OFTInteger64
    if isinstance(sample, numbers.Real) and not isinstance(sample, bool):
        return ogr.OFTReal
    return ogr.OFTString


def _field_value(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return str(value)


def reproject(lines, source_wkt: str, target_wkt: str) -> list[np.ndarray]:
    """Lines (N, 2) from one CRS to another; unchanged when either is empty or both are the same."""
    lines = [np.asarray(line, float) for line in lines]
    if not source_wkt or not target_wkt:
        return lines
    from osgeo import osr

    source, target = osr.SpatialReference(wkt=source_wkt), osr.SpatialReference(wkt=target_wkt)
    if source.IsSame(target):
        return lines
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    return [np.array(transform.TransformPoints(line[:, :2].tolist()), float)[:, :2] for line in lines if len(line)]


def read_lines(path: str, crs_wkt: str) -> list[np.ndarray]:
    """All line parts of a vector file ('file.gpkg' or 'file.gpkg:layer'), reprojected to crs_wkt."""
    from osgeo import ogr, osr

    ogr.UseExceptions()
    name, _, layer_name = path.partition(":")
    try:
        dataset = ogr.Open(name)
    except RuntimeError as error:
        raise InputError(f"Cannot read the lines '{name}': {error}") from None
    layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    if layer is None:
        names = [dataset.GetLayer(index).GetName() for index in range(dataset.GetLayerCount())]
        raise InputError(f"'{name}' has no layer '{layer_name}'. Its layers: {', '.join(names)}.")
    target = osr.SpatialReference(wkt=crs_wkt)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = layer.GetSpatialRef()
    transform = None
    if source is not None and not source.IsSame(target):
        source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(source, target)
    lines = []
    for feature in layer:
        geometry = feature.GetGeometryRef().Clone()
        if transform is not None:
            geometry.Transform(transform)
        parts = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())] or [geometry]
        for part in parts:
            points = np.array(part.GetPoints() or [], float)
            if len(points) >= 2:
                lines.append(points[:, :2])
    return lines
