"""The orientation-free rule: a sub-pixel contour of the models' fused sea/land map in any direction,
placed on the coast models' ridge when there is one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from ..errors import InputError
from ..lines.pieces import Piece, join_pieces
from ..lines.vectorize import Coastline
from .contract import Method, MethodContext
from .models import model_lines


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


NAME = "orientation_free"


def accepts(metas: Sequence) -> str | None:
    if any("land" in meta.classes for meta in metas):
        return None
    return "the orientation-free method needs at least one sea/land (softmax) model"


def rule(predictor, channels, grid_width: int, grid_height: int) -> OrientationFree:
    if not predictor.has_land:
        raise InputError("The orientation-free method needs at least one sea/land (softmax) model; these are "
                         "coast-only models. Choose the paper method.")
    return OrientationFree(channels, predictor.has_coast, grid_width, grid_height)


def run(context: MethodContext) -> list[Coastline]:
    return context.snap_to_edge(model_lines(context, rule))


METHOD = Method(NAME, "Orientation-free (models: sub-pixel contour of the fused sea/land map, any direction)",
                "Contour of the models' fused sea/land map, placed on the coast models' ridge (islands, bays, any "
                "direction).", run, uses_models=True, accepts=accepts)
