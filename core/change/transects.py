"""Baselines and the transects cast from them.

A transect starts on its baseline and runs `length` metres along the baseline's normal, on the side where the
shorelines lie. Which way is seaward is decided separately (analysis.py): from the lines' direction (land on
their left, as Extract coastline writes them) or from the baseline being on land or at sea.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .intersections import crossings

SMOOTHING_STATIONS = 5  # automatic baselines: moving average over this many stations, against zigzags


@dataclass(frozen=True)
class Baseline:
    coords: np.ndarray  # (N, 2) map coordinates
    baseline_id: int = 0
    slope: float | None = None  # beach slope for the tide correction of its transects; None: the default
    group: int | None = None  # DSAS_group: carried to its transects, and the log sums up per group
    search_m: float | None = None  # DSAS_search: how far its transects reach; None: the run's length


@dataclass(frozen=True)
class Transect:
    transect_id: int
    baseline_id: int
    origin: np.ndarray  # (2,) on the baseline
    direction: np.ndarray  # (2,) unit vector away from the baseline, towards the shorelines
    length_m: float
    slope: float | None = None
    group: int | None = None

    @property
    def coords(self) -> np.ndarray:
        return np.array([self.origin, self.origin + self.length_m * self.direction])


def is_closed(coords: np.ndarray) -> bool:
    return len(coords) > 3 and np.allclose(coords[0], coords[-1])


def stations(coords: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `spacing` metres along a line, centred on it, and the unit left normal there (the tangent is
    the chord from one spacing before to one after, so a vertex's kink does not tilt a transect)."""
    coords = np.asarray(coords, float)
    steps = np.hypot(*np.diff(coords, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    total = along[-1]
    if total <= 0:
        return np.empty((0, 2)), np.empty((0, 2))
    closed = is_closed(coords)
    if closed:
        at = np.arange(0.0, total, spacing) if total >= spacing else np.array([0.0])
    else:
        at = (total % spacing) / 2 + np.arange(0.0, total + 1e-9, spacing) if total >= spacing else np.array(
            [total / 2])

    def point(distance):
        distance = np.mod(distance, total) if closed else np.clip(distance, 0.0, total)
        return np.column_stack([np.interp(distance, along, coords[:, 0]), np.interp(distance, along, coords[:, 1])])

    tangent = point(at + spacing) - point(at - spacing)
    tangent /= np.maximum(np.hypot(*tangent.T), 1e-12)[:, None]
    return point(at), np.column_stack([-tangent[:, 1], tangent[:, 0]])


def shorelines_side(points: np.ndarray, normals: np.ndarray, length: float, lines: list[np.ndarray]) -> int:
    """+1 when most crossings of the lines within `length` lie on the left of the baseline (along `normals`), else
    -1; where none is that near, the side where most lines lie farther away (transects too short to reach them
    still point towards them, so the run can tell that they are too short)."""
    for reach in (length, length + extent_diagonal([points, *lines])):
        probes = np.stack([points - reach * normals, points + reach * normals], axis=1)
        _probe, _line, _points, distances, _cross = crossings(probes, lines)
        if len(distances):
            break
    return 1 if np.count_nonzero(distances > reach) >= np.count_nonzero(distances < reach) else -1


def extent_diagonal(coordinates: list[np.ndarray]) -> float:
    """The diagonal of the bounding box of (N, 2) coordinate arrays: farther than any two of the points lie apart."""
    every_point = np.vstack(coordinates)
    return float(np.hypot(*(every_point.max(axis=0) - every_point.min(axis=0))))


def cast_transects(baseline: Baseline, spacing: float, length: float, lines: list[np.ndarray],
                   first_id: int = 0, side: int | None = None) -> list[Transect]:
    """Transects every `spacing` metres along the baseline, `length` metres long (the baseline's own search distance
    where it has one), on the side (+1 left, -1 right) given, or else on the side where most of the lines cross."""
    points, normals = stations(baseline.coords, spacing)
    if len(points) == 0:
        return []
    length = baseline.search_m or length
    if side is None:
        side = shorelines_side(points, normals, length, lines)
    return [Transect(first_id + index, baseline.baseline_id, point, side * normal, length, baseline.slope,
                     baseline.group) for index, (point, normal) in enumerate(zip(points, normals))]


def automatic_baselines(reference_lines: list[np.ndarray], other_dates: list[list[np.ndarray]], spacing: float,
                        length: float, offset_m: float, land_side: int) -> list[Baseline]:
    """One baseline per line of the reference date: its stations moved to the median position of all dates
    along the normal there, then `offset_m` towards land (positive, onshore) or sea (negative), smoothed.

    `land_side`: +1 where land lies on the left of the lines, -1 on their right.
    """
    baselines = []
    for coords in reference_lines:
        points, normals = stations(coords, spacing)
        if len(points) < 2:
            continue
        probes = np.stack([points - length * normals, points + length * normals], axis=1)
        offsets = [np.zeros(len(points))]  # the reference line crosses its own normals at the station
        for lines in other_dates:
            probe, _line, _points, distances, _cross = crossings(probes, lines)
            nearest = np.full(len(points), np.nan)
            for index, distance in zip(probe, distances - length):
                if np.isnan(nearest[index]) or abs(distance) < abs(nearest[index]):
                    nearest[index] = distance
            offsets.append(nearest)
        closed = is_closed(coords)
        # smoothed across the line only: stations keep their place along it, so the baseline keeps its length
        median_offset = _moving_average(np.nanmedian(np.array(offsets), axis=0), SMOOTHING_STATIONS, closed)
        shifted = points + (median_offset + offset_m * land_side)[:, None] * normals
        if closed:
            shifted = np.vstack([shifted, shifted[:1]])
        baselines.append(Baseline(shifted, len(baselines)))
    return baselines


def _moving_average(values: np.ndarray, window: int, wrap: bool) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    window = min(window, len(values) - (len(values) + 1) % 2)
    return uniform_filter1d(values, max(window, 1), mode="wrap" if wrap else "nearest")
