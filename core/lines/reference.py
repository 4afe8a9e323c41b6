"""Lines kept near a reference coastline the user trusts (as CoastSat does with its reference shoreline)."""

from __future__ import annotations

from collections.abc import Sequence

import shapely

from ..io.vectors import reproject
from .vectorize import Coastline


def near_reference(lines: list[Coastline], reference_lines: Sequence, reference_crs_wkt: str, crs_wkt: str,
                   distance_m: float, min_length_m: float) -> list[Coastline]:
    """The parts of `lines` (in `crs_wkt`) within `distance_m` of the reference lines, each at least
    `min_length_m` long."""
    reference = reproject(reference_lines, reference_crs_wkt, crs_wkt)
    zone = shapely.union_all([shapely.LineString(line) for line in reference if len(line) >= 2])
    zone = zone.buffer(distance_m)
    shapely.prepare(zone)
    kept = []
    for line in lines:
        part = shapely.intersection(shapely.LineString(line.coords), zone)
        for geometry in getattr(part, "geoms", [part]):
            if geometry.geom_type == "LineString" and geometry.length >= min_length_m:
                kept.append(Coastline(shapely.get_coordinates(geometry), dict(line.attributes)))
    return kept
