"""The coastline competition metric and friends.

Evaluation points lie on the reference coastline. Score = mean over points of the distance to the nearest
predicted line, each capped at `cap` metres; a point with no prediction within the cap counts the cap.
Also: median, 90th percentile, miss rate, false coast (predicted length farther than the cap from the
reference) and the symmetric mean distance (both directions, uncapped).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_CAP_M = 150.0
DEFAULT_SPACING_M = 30.0
FALSE_COAST_PIECE_M = 5.0


@dataclass(frozen=True)
class Score:
    score: float
    median: float
    p90: float
    miss_rate: float
    false_coast_m: float
    symmetric_m: float
    n_points: int
    cap: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def sample_along(lines: list[np.ndarray], spacing: float = DEFAULT_SPACING_M) -> np.ndarray:
    """Points every `spacing` metres along each line, from its first vertex (the last vertex is not added)."""
    points = []
    for line in lines:
        if len(line) < 2:
            continue
        steps = np.hypot(*np.diff(line, axis=0).T)
        along = np.concatenate([[0.0], np.cumsum(steps)])
        if along[-1] <= 0:
            continue
        stations = np.arange(0.0, along[-1], spacing)
        points.append(np.column_stack([np.interp(stations, along, line[:, 0]),
                                       np.interp(stations, along, line[:, 1])]))
    return np.concatenate(points) if points else np.empty((0, 2))


def _segments(lines: list[np.ndarray], max_length: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment; segments longer than `max_length` are cut into equal parts."""
    starts = [np.asarray(line, float)[:-1] for line in lines if len(line) >= 2]
    ends = [np.asarray(line, float)[1:] for line in lines if len(line) >= 2]
    if not starts:
        return np.empty((0, 2)), np.empty((0, 2))
    starts, ends = np.concatenate(starts), np.concatenate(ends)
    if max_length is None:
        return starts, ends
    counts = np.maximum(np.ceil(np.hypot(*(ends - starts).T) / max_length).astype(int), 1)
    segment = np.repeat(np.arange(len(starts)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    direction = (ends - starts)[segment] / counts[segment][:, None]
    piece_starts = starts[segment] + offsets[:, None] * direction
    return piece_starts, piece_starts + direction


def distances_to_lines(points: np.ndarray, lines: list[np.ndarray]) -> np.ndarray:
    """Exact distance from each point to the nearest segment of any line; inf when there is no segment.

    A k-d tree over segment midpoints gives candidates; a segment can only be nearer than the best candidate
    found if its midpoint lies within (best distance + its half length), so candidates are re-queried with that
    radius and measured exactly.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, float).reshape(-1, 2)
    starts, ends = _segments(lines, max_length=10.0)  # short segments keep the candidate search tight
    if len(starts) == 0:
        return np.full(len(points), np.inf)
    if len(points) == 0:
        return np.empty(0)
    midpoints = (starts + ends) / 2
    half = np.hypot(*(ends - starts).T) / 2
    tree = cKDTree(midpoints)
    nearest, index = tree.query(points, k=min(16, len(starts)))
    nearest, index = nearest.reshape(len(points), -1), index.reshape(len(points), -1)
    best = np.min(_point_segment(points[:, None, :], starts[index], ends[index]), axis=1)
    radius = best + half.max()
    result = best.copy()
    for point_index in np.flatnonzero(radius > nearest[:, -1]):  # only where a farther midpoint could win
        candidates = tree.query_ball_point(points[point_index], radius[point_index])
        if candidates:
            result[point_index] = _point_segment(points[point_index][None], starts[candidates], ends[candidates]).min()
    return result


def _point_segment(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    direction = ends - starts
    length_sq = np.maximum((direction**2).sum(-1), 1e-18)
    t = np.clip(((points - starts) * direction).sum(-1) / length_sq, 0.0, 1.0)
    closest = starts + t[..., None] * direction
    return np.sqrt(((points - closest) ** 2).sum(-1))


def false_coast_length(predicted: list[np.ndarray], reference: list[np.ndarray], cap: float) -> float:
    """Length of predicted line farther than `cap` from the reference, measured on pieces of at most 5 m."""
    starts, ends = _segments(predicted, max_length=FALSE_COAST_PIECE_M)
    if len(starts) == 0:
        return 0.0
    far = distances_to_lines((starts + ends) / 2, reference) > cap
    return float(np.hypot(*(ends - starts)[far].T).sum())


def evaluate(predicted: list[np.ndarray], reference: list[np.ndarray], points: np.ndarray | None = None,
             cap: float = DEFAULT_CAP_M, spacing: float = DEFAULT_SPACING_M) -> tuple[Score, np.ndarray]:
    """The Score, and each evaluation point's uncapped distance (inf where there is no prediction)."""
    points = sample_along(reference, spacing) if points is None else np.asarray(points, float).reshape(-1, 2)
    if len(points) == 0:
        raise ValueError("No evaluation points: the reference has no line and no points were given.")
    distances = distances_to_lines(points, predicted)
    capped = np.minimum(distances, cap)
    predicted_points = sample_along(predicted, spacing)
    if len(predicted_points) and reference:
        back = distances_to_lines(predicted_points, reference)
        symmetric = float((np.mean(distances) + np.mean(back)) / 2)
    else:
        symmetric = float("nan")
    score = Score(score=float(capped.mean()), median=float(np.median(capped)), p90=float(np.percentile(capped, 90)),
                  miss_rate=float(np.mean(distances > cap)),
                  false_coast_m=false_coast_length(predicted, reference, cap) if reference else 0.0,
                  symmetric_m=symmetric, n_points=int(len(points)), cap=float(cap))
    return score, distances
