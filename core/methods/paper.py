"""The paper's rules (Hurtik & Vajgl 2021, section 5): softmax 3x3 coast cells, per-column (or row)
argmax of the coast probability, a weighted per-column ensemble and gap filling, streamed strip by strip."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ..lines.pieces import Piece, positions_to_pieces
from ..lines.vectorize import Coastline
from .contract import Method, MethodContext
from .models import model_lines

SEA, NODATA, LAND = 0, 1, 2


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


NAME = "paper"


def rule(predictor, channels, grid_width: int, grid_height: int) -> PaperRules:
    return PaperRules(predictor.members, channels, grid_width, grid_height)


def run(context: MethodContext) -> list[Coastline]:
    return context.snap_to_edge(model_lines(context, rule))


METHOD = Method(NAME, "Paper (models: per-column/row rules and ensemble of Hurtik & Vajgl 2021)",
                "The per-column (landscape) or per-row (portrait) rules and ensemble of the reference paper.", run,
                uses_models=True)
