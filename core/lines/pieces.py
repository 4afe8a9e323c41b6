"""Pieces of coast in map cells (with their confidence and spread) and their joining into long pieces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


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
