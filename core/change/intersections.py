"""Where transects cross lines: the distance along the transect and the line's direction there."""

from __future__ import annotations

import numpy as np
import shapely

TANGENT_STEP_M = 1.0  # the line's direction at a crossing: the chord over this distance either side


def crossings(transects: np.ndarray, lines: list[np.ndarray]):
    """Every crossing of segments `transects` ((T, 2, 2): start, end) with `lines` ((N, 2) arrays).

    Returns transect index, line index, point (K, 2), distance from the transect's start (K,), and the z of
    (line direction x transect direction) (K,): negative where the line has the transect's end on its right,
    i.e. where a transect points seaward across a line with land on its left.
    """
    empty = (np.empty(0, int), np.empty(0, int), np.empty((0, 2)), np.empty(0), np.empty(0))
    if len(transects) == 0 or not lines:
        return empty
    segments = shapely.linestrings(np.asarray(transects, float))
    geometries = np.array([shapely.LineString(line) for line in lines], dtype=object)
    transect_index, line_index = shapely.STRtree(geometries).query(segments, predicate="intersects")
    if len(transect_index) == 0:
        return empty
    shared = shapely.intersection(segments[transect_index], geometries[line_index])
    points, owner = shapely.get_coordinates(shared, return_index=True)  # a collinear overlap gives its two ends
    transect_index, line_index = transect_index[owner], line_index[owner]
    starts = np.asarray(transects, float)[transect_index, 0]
    directions = np.asarray(transects, float)[transect_index, 1] - starts
    lengths = np.hypot(*directions.T)
    directions = directions / lengths[:, None]
    distances = np.einsum("ij,ij->i", points - starts, directions)
    on_line = geometries[line_index]
    where = shapely.line_locate_point(on_line, shapely.points(points))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(on_line, where + TANGENT_STEP_M))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(on_line, np.maximum(where - TANGENT_STEP_M, 0)))
    tangents = ahead - behind
    cross = tangents[:, 0] * directions[:, 1] - tangents[:, 1] * directions[:, 0]
    return transect_index, line_index, points, distances, cross
