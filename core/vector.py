"""Pixel contours to clean, ordered, single-part LineStrings in map coordinates, with attributes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from .raster import pixel_to_map


@dataclass
class Coastline:
    """One single-part line in map coordinates (N, 2) and its attributes."""

    coords: np.ndarray
    attributes: dict = field(default_factory=dict)

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


def contours_to_lines(contours_rc: list[np.ndarray], geotransform: tuple[float, ...], excluded: np.ndarray,
                      min_length_m: float, simplify_px: float = 0.2) -> list[np.ndarray]:
    """Sub-pixel contours (row, col; pixel centres at integers) to map-coordinate lines.

    Vertices whose pixel is `excluded` (no-data, its margin, the scene border) are dropped and the line cut
    there. Lines shorter than `min_length_m` are dropped; the rest are simplified without self-crossing.
    """
    height, width = excluded.shape
    pixel_size = float(np.hypot(geotransform[1], geotransform[4]))
    lines = []
    for contour in contours_rc:
        rows = np.clip(np.rint(contour[:, 0]).astype(int), 0, height - 1)
        cols = np.clip(np.rint(contour[:, 1]).astype(int), 0, width - 1)
        for run in split_at(contour, excluded[rows, cols]):
            piece = contour[run]
            xs, ys = pixel_to_map(geotransform, piece[:, 1] + 0.5, piece[:, 0] + 0.5)
            line = shapely.LineString(np.column_stack([xs, ys]))
            if simplify_px > 0:
                line = line.simplify(simplify_px * pixel_size, preserve_topology=True)
            if line.length >= min_length_m:
                lines.append(shapely.get_coordinates(line))
    return lines


def border_and_nodata_exclusion(valid: np.ndarray, margin_px: int) -> np.ndarray:
    """Pixels within `margin_px` of no-data or of the scene border: no coastline is drawn there."""
    from scipy import ndimage

    excluded = ~valid
    if margin_px > 0 and excluded.any():
        excluded = ndimage.binary_dilation(excluded, iterations=margin_px)
    margin = max(margin_px, 1)
    excluded[:margin, :] = True
    excluded[-margin:, :] = True
    excluded[:, :margin] = True
    excluded[:, -margin:] = True
    return excluded


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


def write_lines(path: str, lines: list[Coastline], crs_wkt: str, layer_name: str = "coastline") -> str:
    """Write lines with their attributes: GeoPackage or any OGR format by extension, or GeoJSON without GDAL.

    The file appears only when complete (written under a temporary name, then renamed).
    """
    import json
    import os

    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".partial.{name}")
    fields = list(dict.fromkeys(key for line in lines for key in line.attributes))
    if path.lower().endswith((".geojson", ".json")):
        features = [{"type": "Feature", "properties": line.attributes,
                     "geometry": {"type": "LineString", "coordinates": line.coords.tolist()}} for line in lines]
        with open(temporary, "w") as handle:
            json.dump({"type": "FeatureCollection", "features": features}, handle)
    else:
        from osgeo import ogr, osr

        ogr.UseExceptions()
        driver = ogr.GetDriverByName("GPKG" if path.lower().endswith(".gpkg") else "ESRI Shapefile")
        dataset = driver.CreateDataSource(temporary)
        layer = dataset.CreateLayer(layer_name, osr.SpatialReference(wkt=crs_wkt), ogr.wkbLineString)
        for key in fields:
            sample = next((line.attributes[key] for line in lines if line.attributes.get(key) is not None), "")
            layer.CreateField(ogr.FieldDefn(key, ogr.OFTReal if isinstance(sample, float) else ogr.OFTString))
        for line in lines:
            feature = ogr.Feature(layer.GetLayerDefn())
            for key, value in line.attributes.items():
                if value is not None:
                    feature.SetField(key, value)
            geometry = ogr.Geometry(ogr.wkbLineString)
            for x, y in line.coords:
                geometry.AddPoint_2D(float(x), float(y))
            feature.SetGeometry(geometry)
            layer.CreateFeature(feature)
        dataset = None
    os.replace(temporary, path)
    return path


class KeepMask:
    """The one exclusion mask: which cells of a grid (scene pixels at `stride` 1, merged-map cells otherwise)
    may carry a coastline: not within a margin of no-data or of the scene border.

    Fed strip by strip with each cell's share of valid pixels; kept as packed bits (an eighth of a byte per
    cell, whatever the scene size), then sampled at path vertices.
    """

    def __init__(self, margin_px: int, stride: int, grid_width: int, grid_height: int):
        self.margin = max(1, -(-margin_px // stride))
        self.width, self.height = grid_width, grid_height
        self.rows: list[np.ndarray] = []

    def add(self, valid_share: np.ndarray) -> None:
        from scipy import ndimage

        # Cells mostly of data count: isolated no-data pixels (dead pixels) do not cut lines.
        usable = ndimage.minimum_filter(np.nan_to_num(valid_share) > 0.5, size=2 * self.margin + 1, mode="nearest")
        usable[:, :self.margin] = usable[:, -self.margin:] = False
        first = sum(len(rows) for rows in self.rows)
        usable[:max(0, self.margin - first)] = False
        last = first + len(usable)
        if last > self.height - self.margin:
            usable[max(0, self.height - self.margin - first):] = False
        self.rows.append(np.packbits(usable, axis=1))

    def sample(self, xy: np.ndarray) -> np.ndarray:
        if len(self.rows) > 1:
            self.rows = [np.concatenate(self.rows)]  # once, after the last strip
        packed = self.rows[0]
        rows = np.clip(np.floor(xy[:, 1]).astype(int), 0, self.height - 1)
        cols = np.clip(np.floor(xy[:, 0]).astype(int), 0, self.width - 1)
        return (packed[rows, cols >> 3] >> (7 - (cols & 7)) & 1).astype(bool)
