"""Coastline rules on merged probability maps: the paper's, and an orientation-free method.

Both work on strips of the merged map (grid rows first..first+rows), so a scene of any size is handled with
bounded memory. Coordinates here are grid cells: x = column, y = row, cell corners at integers (a cell's
centre is at +0.5). The caller scales them to scene pixels and map coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

SEA, NODATA, LAND = 0, 1, 2


@dataclass
class Piece:
    """A path in grid coordinates (N, 2) as (x, y), with a value per vertex (position spread in cells)."""

    xy: np.ndarray
    spread: np.ndarray = field(default=None)
    confidence: np.ndarray = field(default=None)

    def __post_init__(self):
        count = len(self.xy)
        self.spread = np.zeros(count) if self.spread is None else self.spread
        self.confidence = np.ones(count) if self.confidence is None else self.confidence

    def reversed(self) -> Piece:
        return Piece(self.xy[::-1], self.spread[::-1], self.confidence[::-1])

    def then(self, other: Piece) -> Piece:
        """This path followed by `other`, which starts where this one ends."""
        return Piece(np.concatenate([self.xy, other.xy[1:]]), np.concatenate([self.spread, other.spread[1:]]),
                     np.concatenate([self.confidence, other.confidence[1:]]))


# --- The paper's rules -------------------------------------------------------------------------------------

def softmax_coast_mask(classes: np.ndarray) -> np.ndarray:
    """Cells where sea and land meet: 3x3 max minus min of the class map is 2, no-data ignored."""
    footprint = np.ones((3, 3), bool)
    high = ndimage.maximum_filter(np.where(classes == NODATA, SEA, classes), footprint=footprint, mode="nearest")
    low = ndimage.minimum_filter(np.where(classes == NODATA, LAND, classes), footprint=footprint, mode="nearest")
    return (high - low == 2) & (classes != NODATA)


def peak_positions(probability: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per column, the row of the highest probability (sub-cell by a parabola through the peak); NaN if none.

    The paper's sigmoid rule for a landscape scene; apply it to the transpose for a portrait one.
    """
    masked = np.where(valid, probability, -np.inf)
    rows = np.argmax(masked, axis=0)
    columns = np.arange(masked.shape[1])
    peak = masked[rows, columns]
    above = masked[np.maximum(rows - 1, 0), columns]
    below = masked[np.minimum(rows + 1, masked.shape[0] - 1), columns]
    with np.errstate(invalid="ignore", divide="ignore"):
        curvature = above - 2 * peak + below
        offset = np.where(np.isfinite(curvature) & (curvature < 0), 0.5 * (above - below) / curvature, 0.0)
    positions = rows + np.clip(offset, -0.5, 0.5) + 0.5
    positions[~np.isfinite(peak)] = np.nan
    return positions


def mask_positions(mask: np.ndarray) -> np.ndarray:
    """Per column, the mean row (cell centre) of the coast cells; NaN where the column has none."""
    counts = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, (mask * (np.arange(mask.shape[0])[:, None] + 0.5)).sum(axis=0) / counts, np.nan)


def ensemble_positions(positions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of the members' per-column positions, over the members that have one there."""
    stack = np.stack(positions)
    weight = np.asarray(weights, float)[:, None] * np.isfinite(stack)
    with np.errstate(invalid="ignore"):
        return np.where(weight.sum(0) > 0, (np.nan_to_num(stack) * weight).sum(0) / weight.sum(0), np.nan)


def positions_to_pieces(positions: np.ndarray) -> list[Piece]:
    """Per-column positions to paths through the column centres; runs of NaN cut the path.

    Where the coast is steeper than the diagonal (consecutive positions more than one cell apart) the
    paper fills the gap: vertices are inserted every cell along the step, so the trace stays connected.
    """
    pieces = []
    finite = np.isfinite(positions)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.view(np.int8), [0]])))
    for begin, end in zip(edges[::2], edges[1::2]):
        if end - begin < 2:
            continue
        xs = np.arange(begin, end) + 0.5
        ys = positions[begin:end]
        points = [(xs[0], ys[0])]
        for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
            steps = int(np.ceil(abs(y1 - y0))) if abs(y1 - y0) > 1 else 1
            for step in range(1, steps + 1):
                fraction = step / steps
                # the fill runs down the step at the column boundary, then on to the next centre
                points.append((x0 + 0.5 if step < steps else x1, y0 + (y1 - y0) * fraction))
        pieces.append(Piece(np.array(points, float)))
    return pieces


class PaperRules:
    """The paper's per-model rules and per-column ensemble, fed strip by strip.

    Landscape scenes (wider than high) take positions per column, portrait scenes per row.
    """

    def __init__(self, members, channels, grid_width: int, grid_height: int):
        self.members = members
        self.channels = channels
        self.portrait = grid_height > grid_width
        self.valid_channel = channels["valid"]
        across = grid_width if not self.portrait else None
        self.best_value = [np.full(across, -np.inf) if across else None for _member in members]
        self.best_position = [np.full(across, np.nan) if across else None for _member in members]
        self.mask_sum = [np.zeros(across) if across else None for _member in members]
        self.mask_count = [np.zeros(across) if across else None for _member in members]
        self.row_positions: list[list[np.ndarray]] = [[] for _member in members]
        self.previous: np.ndarray | None = None  # the last two grid rows seen, for the 3x3 rule across strips
        self.previous_first = 0

    def add(self, first: int, strip: np.ndarray) -> None:
        valid = strip[self.valid_channel] > 0.5
        for index, member in enumerate(self.members):
            if member.head == "sigmoid":
                self._add_peaks(index, strip[self.channels[member.key("coast")]], valid, first)
        # The 3x3 rule needs the row below, so each strip's last row is counted with the next strip.
        if self.previous is None:
            block, top, count_from = strip, first, 0
        else:
            block, top, count_from = np.concatenate([self.previous, strip], 1), self.previous_first, 1
        self._add_softmax(block, top, count_from, block.shape[1] - 1)
        self.previous = block[:, -2:]
        self.previous_first = top + block.shape[1] - self.previous.shape[1]

    def _add_softmax(self, block: np.ndarray, top: int, count_from: int, count_to: int) -> None:
        valid = block[self.valid_channel] > 0.5
        for index, member in enumerate(self.members):
            if member.head == "sigmoid":
                continue
            classes = np.argmax(block[[self.channels[member.key(name)] for name in ("sea", "nodata", "land")]],
                                axis=0)
            classes[~valid] = NODATA
            mask = softmax_coast_mask(classes)[count_from:count_to]
            self._add_mask(index, mask, top + count_from)

    def _add_peaks(self, index: int, probability: np.ndarray, valid: np.ndarray, first: int) -> None:
        if self.portrait:
            self.row_positions[index].append(peak_positions(probability.T, valid.T))
            return
        values = np.where(valid, probability, -np.inf)
        better = values.max(axis=0) > self.best_value[index]
        positions = peak_positions(probability, valid) + first
        self.best_position[index][better] = positions[better]
        self.best_value[index][better] = values.max(axis=0)[better]

    def _add_mask(self, index: int, mask: np.ndarray, first: int) -> None:
        if self.portrait:
            self.row_positions[index].append(mask_positions(mask.T))
            return
        rows = np.arange(first, first + mask.shape[0])[:, None] + 0.5
        self.mask_sum[index] += (mask * rows).sum(axis=0)
        self.mask_count[index] += mask.sum(axis=0)

    def finish(self) -> list[Piece]:
        if self.previous is not None:
            self._add_softmax(self.previous, self.previous_first, self.previous.shape[1] - 1, self.previous.shape[1])
        if self.portrait:
            per_member = [np.concatenate(rows) for rows in self.row_positions]
        else:
            per_member = []
            for index, member in enumerate(self.members):
                if member.head == "sigmoid":
                    per_member.append(self.best_position[index])
                else:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        per_member.append(np.where(self.mask_count[index] > 0,
                                                   self.mask_sum[index] / self.mask_count[index], np.nan))
        fused = ensemble_positions(per_member, [member.weight for member in self.members])
        spread = _member_spread(per_member, [member.weight for member in self.members])
        pieces = positions_to_pieces(fused)
        result = []
        for piece in pieces:
            along = np.clip(np.floor(piece.xy[:, 0]).astype(int), 0, len(fused) - 1)
            xy = piece.xy[:, ::-1] if self.portrait else piece.xy
            result.append(Piece(xy, spread=spread[along], confidence=np.ones(len(xy))))
        return result


def _member_spread(positions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted standard deviation of the members' positions per column (0 where one member has one)."""
    stack = np.stack(positions)
    mean = ensemble_positions(positions, weights)
    weight = np.asarray(weights, float)[:, None] * np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (np.nan_to_num((stack - mean) ** 2) * weight).sum(0) / weight.sum(0)
    return np.nan_to_num(np.sqrt(variance))


# --- The orientation-free method ---------------------------------------------------------------------------

class OrientationFree:
    """The 0.5 contour of the fused sea/land field, in any direction, islands and bays included.

    Each strip is contoured together with the previous strip's last row, so the pieces of one line in
    neighbouring strips share their end points on that row exactly and are joined at the end. Where coast
    models are present, each vertex moves along the field's gradient to the coast ridge (sub-cell peak).
    """

    def __init__(self, channels, use_coast: bool, grid_width: int, grid_height: int, ridge_radius: float = 3.0):
        self.land, self.land_var, self.valid_channel = channels["land"], channels["land_variance"], channels["valid"]
        self.coast = channels["coast"] if use_coast else None
        self.width, self.height = grid_width, grid_height
        self.ridge_radius = ridge_radius
        self.previous: np.ndarray | None = None
        self.pieces: list[Piece] = []

    def add(self, first: int, strip: np.ndarray) -> None:
        block, top = strip, first
        if self.previous is not None:
            block, top = np.concatenate([self.previous, strip], axis=1), first - 1
        self.previous = strip[:, -1:]
        if block.shape[1] < 2:
            return
        valid = block[self.valid_channel] > 0.5
        land = np.where(valid, block[self.land], np.nan)
        contours = find_contours(land, 0.5)
        if not contours:
            return
        # Per-strip fields, computed once and sampled at every contour's vertices.
        filled = np.nan_to_num(block[self.land], nan=0.5)
        fields = {"gradient_row": np.gradient(filled, axis=0), "gradient_col": np.gradient(filled, axis=1),
                  "variance": np.nan_to_num(block[self.land_var])}
        if self.coast is not None:
            fields["coast"] = np.nan_to_num(block[self.coast], nan=0.0)
        for contour in contours:
            self.pieces.append(self._piece(contour, fields, top))

    def _piece(self, contour: np.ndarray, fields: dict, top: int) -> Piece:
        rows, cols = contour[:, 0], contour[:, 1]
        coordinates = np.stack([rows, cols])

        def sample(name):
            return ndimage.map_coordinates(fields[name], coordinates, order=1, mode="nearest")

        gradient_row, gradient_col = sample("gradient_row"), sample("gradient_col")
        slope = np.hypot(gradient_row, gradient_col)
        spread_p = np.sqrt(np.maximum(sample("variance"), 0.0))
        spread = spread_p / np.maximum(slope, 1e-3)
        confidence = np.clip(1.0 - 2.0 * spread_p, 0.0, 1.0)
        if self.coast is not None:
            rows, cols = self._to_ridge(fields["coast"], rows, cols, gradient_row, gradient_col, slope)
        xy = np.column_stack([cols + 0.5, rows + top + 0.5])
        return Piece(xy, spread, confidence)

    def _to_ridge(self, coast, rows, cols, gradient_row, gradient_col, slope):
        """Move vertices along the gradient to the coast models' ridge where it is clear (> 0.5)."""
        unit_row = gradient_row / np.maximum(slope, 1e-6)
        unit_col = gradient_col / np.maximum(slope, 1e-6)
        offsets = np.arange(-self.ridge_radius, self.ridge_radius + 0.25, 0.5)
        sample_rows = rows[None, :] + offsets[:, None] * unit_row[None, :]
        sample_cols = cols[None, :] + offsets[:, None] * unit_col[None, :]
        profile = ndimage.map_coordinates(coast, np.stack([sample_rows, sample_cols]), order=1, mode="nearest")
        best = np.argmax(profile, axis=0)
        inner = np.clip(best, 1, len(offsets) - 2)
        columns = np.arange(len(rows))
        above, peak, below = profile[inner - 1, columns], profile[inner, columns], profile[inner + 1, columns]
        curvature = above - 2 * peak + below
        with np.errstate(invalid="ignore", divide="ignore"):
            refine = np.where(curvature < 0, 0.5 * (above - below) / curvature, 0.0)
        shift = offsets[inner] + np.clip(refine, -0.5, 0.5) * 0.5
        move = (profile.max(axis=0) > 0.5) & (slope > 1e-3)
        shift = np.where(move, shift, 0.0)
        return rows + shift * unit_row, cols + shift * unit_col

    def finish(self) -> list[Piece]:
        return join_pieces(self.pieces)


def join_pieces(pieces: Sequence[Piece], decimals: int = 6) -> list[Piece]:
    """Join paths that share end points exactly (contours cut at strip seams); closed rings stay closed."""
    def key(point):
        return (round(float(point[0]), decimals), round(float(point[1]), decimals))

    ends: dict[tuple, list[tuple[int, int]]] = {}
    for index, piece in enumerate(pieces):
        if len(piece.xy) >= 2 and key(piece.xy[0]) == key(piece.xy[-1]):
            continue  # already a closed ring
        for end, point in ((0, piece.xy[0]), (1, piece.xy[-1])):
            ends.setdefault(key(point), []).append((index, end))
    used = [False] * len(pieces)

    def partner(index: int, end: int):
        point = pieces[index].xy[-1 if end else 0]
        for other, other_end in ends.get(key(point), []):
            if other != index and not used[other]:
                return other, other_end
        return None

    def extend(line: Piece, index: int, end: int) -> Piece:
        """Append to `line` the chain of pieces that starts at `end` of piece `index`."""
        step = partner(index, end)
        while step is not None:
            other, other_end = step
            used[other] = True
            line = line.then(pieces[other] if other_end == 0 else pieces[other].reversed())
            step = partner(other, 1 - other_end)
        return line

    joined = []
    for index, piece in enumerate(pieces):
        if used[index]:
            continue
        used[index] = True
        forward = extend(piece, index, 1)
        # the chain before the start: walk it on the reversed line, then turn back to the first piece's direction
        joined.append(extend(forward.reversed(), index, 0).reversed())
    return joined
