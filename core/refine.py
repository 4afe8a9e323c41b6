"""Model lines snapped to the image's own water/land edge, after CoastSat's sub-pixel step.

A model places the coast to about one of its own pixels, and it reads a scene at crop sides resized to its side;
the despeckled image is sharper. Each vertex of a line (land on its left) is searched along its normal, up to
`reach_px` scene pixels either way, for where the despeckled dB (the classical method's filter, set from the
scene's looks) crosses a threshold of the coast's own neighbourhood: half-way between the water and land medians
of the dB sampled along those normals, which adapts to the water and land found at the coast rather than to the
whole scene (no snap when they differ by less than 3 dB). The nearest crossing from sea to land wins; a vertex
without one stays; a median over 5 vertices removes lone jumps. The model still decides where there is coast
and which side is land: the image moves a line a few pixels at most.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .classical import (
    STRIP_PIXELS,
    despeckle,
    despeckle_halo,
    despeckle_sigma_for,
    estimate_looks,
    otsu_threshold,
    strip_height_for,
)
from .hooks import RunHooks, as_hooks
from .raster import map_to_pixel
from .vector import Coastline

STEP_PX = 0.25  # search resolution along the normal, in scene pixels
MEDIAN_VERTICES = 5
MIN_CONTRAST_DB = 3.0  # water and land medians closer than this: no edge to snap to (speckle, or one class only)


def left_normals(coords: np.ndarray) -> np.ndarray:
    """Unit normals to the left of a line's direction at each vertex (map coordinates)."""
    tangents = np.gradient(coords, axis=0)
    lengths = np.hypot(tangents[:, 0], tangents[:, 1])
    lengths[lengths == 0] = 1.0
    return np.column_stack([-tangents[:, 1], tangents[:, 0]]) / lengths[:, None]


def snap_to_edge(scene, lines: list[Coastline], reach_px: float, hooks: RunHooks | None = None,
                 strip_pixels: int = STRIP_PIXELS) -> list[Coastline]:
    """`lines` (land on their left, map coordinates of `scene`) moved onto the image's edge; see the module."""
    hooks = as_hooks(hooks)
    lines = [line for line in lines if len(line.coords) >= 2]
    if reach_px <= 0 or not lines:
        return lines
    coords = np.concatenate([line.coords for line in lines])
    normals = np.concatenate([left_normals(line.coords) for line in lines])
    cols, rows = map_to_pixel(scene.geotransform, coords[:, 0], coords[:, 1])
    ahead_cols, ahead_rows = map_to_pixel(scene.geotransform, *(coords + normals * scene.pixel_size).T)
    vertices = np.column_stack([cols, rows]) - 0.5  # array indices: pixel centres at integers
    steps = np.column_stack([ahead_cols - cols, ahead_rows - rows])  # one pixel to the left, in the array
    search = np.arange(-reach_px, reach_px + STEP_PX / 2, STEP_PX)
    # The threshold's samples reach three times as far, from every fourth vertex: a line drawn off the edge
    # still sees both sides.
    wide = np.arange(-3 * reach_px, 3 * reach_px + 0.5, 1.0)
    search_points = (vertices[:, None, :] + search[None, :, None] * steps[:, None, :]).reshape(-1, 2)
    wide_points = (vertices[::4, None, :] + wide[None, :, None] * steps[::4, None, :]).reshape(-1, 2)
    points = np.concatenate([search_points, wide_points]).astype(np.float32)
    values = sample_despeckled(scene, points[:, 0], points[:, 1], hooks, strip_pixels)
    samples, around = values[:len(search_points)].reshape(len(vertices), len(search)), values[len(search_points):]
    threshold, contrast = edge_threshold(around[np.isfinite(around)])
    if contrast < MIN_CONTRAST_DB:
        hooks.note(f"Edge snap: water and land differ by {contrast:.1f} dB along the lines (under "
                   f"{MIN_CONTRAST_DB:g}); they stay where the models put them.")
        return lines
    field = samples - threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        rising = (field[:, :-1] <= 0) & (field[:, 1:] > 0)  # sea to land, walking towards the land side
        positions = search[:-1] + STEP_PX * -field[:, :-1] / (field[:, 1:] - field[:, :-1])
    distance = np.where(rising, np.abs(positions), np.inf)
    nearest = np.argmin(distance, axis=1)
    found = np.isfinite(distance[np.arange(len(nearest)), nearest])
    shifts = np.where(found, positions[np.arange(len(nearest)), nearest], 0.0)
    snapped, start = [], 0
    for line in lines:
        count = len(line.coords)
        shift, normal = shifts[start:start + count], normals[start:start + count]
        start += count
        if count > 3 and np.array_equal(line.coords[0], line.coords[-1]):  # a ring: its ends move together
            shift = ndimage.median_filter(shift[:-1], MEDIAN_VERTICES, mode="wrap")
            shift = np.append(shift, shift[0])
        else:
            shift = ndimage.median_filter(shift, MEDIAN_VERTICES, mode="nearest")
        snapped.append(Coastline(line.coords + shift[:, None] * normal * scene.pixel_size, dict(line.attributes)))
    moved = np.abs(shifts[found])
    hooks.figures.update(edge_snap_threshold_db=threshold, edge_snap_found_share=float(found.mean()))
    hooks.note(f"Edge snap: {found.mean():.0%} of the vertices found the image's water/land edge ({threshold:.1f} dB) "
               f"within {reach_px:g} px, moved by {np.median(moved) if moved.size else 0:.2f} px (median).")
    return snapped


def edge_threshold(values: np.ndarray) -> tuple[float, float]:
    """Half-way between the water and land medians (split by Otsu) of dB sampled across the coast, and their
    difference. Unlike Otsu's split itself, the half-way point does not lean towards the class with fewer samples
    (a line drawn off the edge samples more of one side); a blurred edge crosses it where the edge is."""
    if values.size < 2 or values.min() == values.max():
        return float("nan"), 0.0
    split = otsu_threshold(values)
    low, high = float(np.median(values[values <= split])), float(np.median(values[values > split]))
    return (low + high) / 2, high - low


def sample_despeckled(scene, cols: np.ndarray, rows: np.ndarray, hooks: RunHooks, strip_pixels: int = STRIP_PIXELS
                      ) -> np.ndarray:
    """The despeckled dB (the classical filter for the scene's looks) at pixel positions (centres at integers),
    bilinear; NaN outside the scene or in no-data. Only the strips that hold points are read."""
    sigma = despeckle_sigma_for(estimate_looks(scene))
    halo = despeckle_halo(sigma)
    values = np.full(len(cols), np.nan, np.float32)
    inside = (cols >= 0) & (cols <= scene.width - 1) & (rows >= 0) & (rows <= scene.height - 1)
    first_rows = np.floor(rows).astype(int)
    strip_height = min(scene.height, strip_height_for(scene.width, strip_pixels))
    for row in range(0, scene.height, strip_height):
        chosen = np.flatnonzero(inside & (first_rows >= row) & (first_rows < row + strip_height))
        if chosen.size == 0:
            continue
        hooks.check_cancel()
        bottom = min(scene.height, row + strip_height + 1)  # one more row: the bilinear neighbour below
        top, end = max(0, row - halo), min(scene.height, bottom + halo)
        smoothed = despeckle(scene.read_db(0, top, scene.width, end - top), sigma)[row - top:bottom - top]
        values[chosen] = ndimage.map_coordinates(smoothed, [rows[chosen] - row, cols[chosen]], order=1,
                                                 mode="nearest")
    return values
