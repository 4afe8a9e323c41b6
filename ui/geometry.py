"""QGIS geometries <-> numpy vertex arrays, reprojected into one projected CRS."""

from collections.abc import Iterator

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsWkbTypes,
)


def check_projected(crs, what: str) -> None:
    if not crs.isValid():
        raise QgsProcessingException(f"{what} has no valid CRS. Set the layer's CRS and run again.")
    if crs.isGeographic():
        raise QgsProcessingException(
            f"{what} is in a geographic CRS ({crs.authid()}); distances need metres. "
            "Reproject it to a projected CRS such as the local UTM zone (Vector > Data Management > Reproject).")


def projected_crs_for(source, context, what: str):
    """The source's CRS when projected; for a geographic one, the local UTM zone of its extent's centre (distances
    need metres). Returns (crs, a sentence for the log or None)."""
    from ..core.io.georef import utm_epsg

    crs = source.sourceCrs()
    if not crs.isValid() or not crs.isGeographic():
        check_projected(crs, what)
        return crs, None
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = QgsCoordinateTransform(crs, wgs84, context.transformContext()).transform(source.sourceExtent().center())
    utm = QgsCoordinateReferenceSystem(f"EPSG:{utm_epsg(centre.x(), centre.y())}")
    return utm, (f"{what} is in a geographic CRS ({crs.authid()}): every layer is reprojected to the local UTM zone "
                 f"{utm.authid()} ({utm.description()}) to measure in metres.")


def line_features(source, target_crs, context, feedback=None) -> Iterator[tuple[object, list[np.ndarray]]]:
    """(feature, its line parts as (N, 2) arrays in target_crs) for every non-empty feature; stops on cancel."""
    transform = QgsCoordinateTransform(source.sourceCrs(), target_crs, context.transformContext())
    for feature in source.getFeatures():
        if feedback is not None and feedback.isCanceled():
            return
        geometry = QgsGeometry(feature.geometry())
        if geometry.isEmpty():
            continue
        geometry.transform(transform)
        geometry.convertToStraightSegment()
        parts = geometry.asMultiPolyline() if geometry.isMultipart() else [geometry.asPolyline()]
        yield feature, [np.array([[p.x(), p.y()] for p in part], float) for part in parts if len(part) >= 2]


def source_lines(source, target_crs, context, feedback=None) -> list[np.ndarray]:
    """Every part of every line feature as an (N, 2) array in target_crs."""
    return [part for _feature, parts in line_features(source, target_crs, context, feedback) for part in parts]


def source_points(source, target_crs, context) -> np.ndarray:
    transform = QgsCoordinateTransform(source.sourceCrs(), target_crs, context.transformContext())
    points = []
    for feature in source.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        if geometry.isEmpty():
            continue
        geometry.transform(transform)
        parts = geometry.asMultiPoint() if geometry.isMultipart() else [geometry.asPoint()]
        points.extend((p.x(), p.y()) for p in parts)
    return np.array(points, float).reshape(-1, 2)


def line_geometry(coords: np.ndarray) -> QgsGeometry:
    return QgsGeometry.fromPolylineXY([QgsPointXY(float(x), float(y)) for x, y in coords])


def point_geometry(x: float, y: float) -> QgsGeometry:
    return QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y)))


LINE_TYPE = QgsWkbTypes.Type.LineString
POINT_TYPE = QgsWkbTypes.Type.Point


def source_polygons(source, target_crs, context) -> list:
    """Every polygon feature as a shapely geometry in target_crs."""
    import shapely

    transform = QgsCoordinateTransform(source.sourceCrs(), target_crs, context.transformContext())
    polygons = []
    for feature in source.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        if geometry.isEmpty():
            continue
        geometry.transform(transform)
        polygons.append(shapely.from_wkb(bytes(geometry.asWkb())))
    return polygons
