"""Coast pieces in map-cell coordinates to ordered LineStrings in map coordinates: the Coastline type,
cuts at no-data, and the lines file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from ..io.georef import pixel_to_map
from ..io.vectors import Feature, Layer, write_layers


@dataclass
class Coastline(Feature):
    """One single-part line in map coordinates (N, 2) and its attributes."""

    @property
    def length_m(self) -> float:
        return float(np.hypot(*np.diff(self.coords, axis=0).T).sum())


def split_at(path: np.ndarray, bad: np.ndarray) -> list[np.ndarray]:
    """Vertex indices of the runs of `path` between `bad` vertices; a closed ring is cut once, not wrapped."""
    indices = np.arange(len(path))
    if not bad.any():
        return [indices]
    if len(path) > 2 and np.array_equal(path[0], path[-1]):
        start = int(np.argmax(bad))  # rotate the ring so it starts on a bad vertex: no run wraps around
        indices = np.concatenate([indices[start:-1], indices[:start + 1]])
    good = ~bad[indices]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], good.view(np.int8), [0]])))
    return [indices[begin:end] for begin, end in zip(edges[::2], edges[1::2]) if end - begin >= 2]


def pieces_to_lines(pieces, keep: list[np.ndarray], stride: int, geotransform: tuple[float, ...],
                    min_length_m: float, simplify_px: float = 0.2) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The one vectorizer: paths on a grid of `stride` scene pixels (cell corners at integers) to map lines, cut
    where `keep` is False, shorter than `min_length_m` dropped, simplified without self-crossing.

    Returns (piece index, map coordinates, indices of the piece's vertices in the line) per line, so
    callers can carry per-vertex values along.
    """
    pixel_size = float(np.hypot(geotransform[1], geotransform[4]))
    lines = []
    for index, (piece, flags) in enumerate(zip(pieces, keep)):
        for run in split_at(piece.xy, ~flags):
            xs, ys = pixel_to_map(geotransform, piece.xy[run, 0] * stride, piece.xy[run, 1] * stride)
            line = shapely.LineString(np.column_stack([xs, ys]))
            if line.length < min_length_m:
                continue
            if simplify_px > 0:
                line = line.simplify(simplify_px * pixel_size, preserve_topology=True)
            lines.append((index, shapely.get_coordinates(line), run))
    return lines


class KeepMask:
    """The one exclusion mask: which cells of a grid (scene pixels at `stride` 1, merged-map cells otherwise)
    may carry a coastline: not within a margin of no-data or of the scene border.

    Fed strip by strip, top to bottom, with each cell's share of valid pixels; cells mostly of data are kept as
    packed bits (an eighth of a byte per cell). The margin is applied when sampling, around each vertex, so it
    reaches across strip seams.
    """

    def __init__(self, margin_px: int, stride: int, grid_width: int, grid_height: int):
        self.margin = max(1, -(-margin_px // stride))
        self.width, self.height = grid_width, grid_height
        self.bits = np.zeros((grid_height, -(-grid_width // 8)), np.uint8)  # pages are taken as rows arrive
        self.rows_added = 0

    def add(self, valid_share: np.ndarray) -> None:
        # Cells mostly of data count: isolated no-data pixels (dead pixels) do not cut lines at stride > 1.
        rows = len(valid_share)
        self.bits[self.rows_added:self.rows_added + rows] = np.packbits(np.nan_to_num(valid_share) > 0.5, axis=1)
        self.rows_added += rows

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Per vertex (x, y in grid cells): True where no cell within the margin is no-data or off the grid."""
        rows, cols = np.floor(xy[:, 1]).astype(int), np.floor(xy[:, 0]).astype(int)
        margin = self.margin
        keep = (rows >= margin) & (rows < self.height - margin) & (cols >= margin) & (cols < self.width - margin)
        for row_offset in range(-margin, margin + 1):
            near_rows = np.clip(rows + row_offset, 0, self.height - 1)
            for col_offset in range(-margin, margin + 1):
                near_cols = np.clip(cols + col_offset, 0, self.width - 1)
                keep &= (self.bits[near_rows, near_cols >> 3] >> (7 - (near_cols & 7)) & 1).astype(bool)
        return keep


def write_lines(path: str, lines: Sequence[Coastline], crs_wkt: str, layer_name: str = "coastline") -> str:
    """Write one layer of lines with their attributes (see write_layers)."""
    return write_layers(path, [Layer(layer_name, lines)], crs_wkt)
