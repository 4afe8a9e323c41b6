"""Model lines snapped to the image's own water/land edge, after CoastSat's sub-pixel step.

A model places the coast to about one of its own pixels, and it reads a scene at crop sides resized to its side;
the despeckled image is sharper. Each vertex of a line (land on its left) is searched along its normal, up to
`reach_px` scene pixels either way, for where the despeckled dB crosses a threshold of the coast's own
neighbourhood. The filter is the classical one at the sigma that fully matches the scene's looks (sharper than
the classical method's own, which goes half-way). The threshold is half-way between the water and land medians
of the dB sampled along those normals, which adapts to the water and land found at the coast rather than to the
whole scene (no snap when they differ by less than 3 dB). The nearest crossing from sea to land wins; a vertex
without one stays; a median over 5 vertices removes lone jumps. The model still decides where there is coast
and which side is land: the image moves a line a few pixels at most.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..hooks import RunHooks, as_hooks
from ..imaging.speckle import despeckle, despeckle_halo, despeckle_sigma_for, estimate_looks
from ..imaging.threshold import otsu_threshold
from ..io.georef import map_to_pixel
from ..io.scene import STRIP_PIXELS, strip_height_for
from .vectorize import Coastline

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
    """`lines` (land on their left, map coordinates of `scene`) moved onto the image's edge; see the module.
    Two passes over the strips that hold lines (the threshold, then the crossings); what is kept grows with the
    lines only."""
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
    sampler = StripSampler(scene, despeckle_sigma_for(estimate_looks(scene)), hooks, strip_pixels)
    # The threshold's samples reach three times as far, from every fourth vertex: a line drawn off the edge
    # still sees both sides.
    wide = np.arange(-3 * reach_px, 3 * reach_px + 0.5, 1.0)
    around = np.concatenate([values.ravel() for _chosen, values in sampler(vertices[::4], steps[::4], wide)])
    threshold, contrast = edge_threshold(around[np.isfinite(around)])
    if contrast < MIN_CONTRAST_DB:
        hooks.note(f"Edge snap: water and land differ by {contrast:.1f} dB along the lines (under "
                   f"{MIN_CONTRAST_DB:g}); they stay where the models put them.")
        return lines
    search = np.arange(-reach_px, reach_px + STEP_PX / 2, STEP_PX)
    shifts, found = np.zeros(len(vertices)), np.zeros(len(vertices), bool)
    for chosen, values in sampler(vertices, steps, search):
        shifts[chosen], found[chosen] = nearest_rising_crossing(values - threshold, search)
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


def nearest_rising_crossing(field: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `field` (sampled at `offsets`, walking towards the land side): the offset of the crossing from
    below 0 to above it nearest to 0, linearly interpolated, and whether there is one (else 0)."""
    step = offsets[1] - offsets[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        rising = (field[:, :-1] <= 0) & (field[:, 1:] > 0)  # NaN (outside, no-data) compares False
        positions = offsets[:-1] + step * -field[:, :-1] / (field[:, 1:] - field[:, :-1])
    distance = np.where(rising, np.abs(positions), np.inf)
    nearest = np.argmin(distance, axis=1)
    rows = np.arange(len(field))
    found = np.isfinite(distance[rows, nearest])
    return np.where(found, positions[rows, nearest], 0.0), found


def edge_threshold(values: np.ndarray) -> tuple[float, float]:
    """Half-way between the water and land medians (split by Otsu) of dB sampled across the coast, and their
    difference. Unlike Otsu's split itself, the half-way point does not lean towards the class with fewer samples
    (a line drawn off the edge samples more of one side); a blurred edge crosses it where the edge is."""
    if values.size < 2 or values.min() == values.max():
        return float("nan"), 0.0
    split = otsu_threshold(values)
    low, high = float(np.median(values[values <= split])), float(np.median(values[values > split]))
    return (low + high) / 2, high - low


class StripSampler:
    """The despeckled dB (the classical filter at `sigma_px`) along vertices' normals, a strip of the scene at a
    time: only strips that hold vertices are read, each with the rows its vertices' samples reach and the
    filter's halo, so memory goes with a strip and its vertices."""

    def __init__(self, scene, sigma_px: float, hooks: RunHooks, strip_pixels: int = STRIP_PIXELS):
        self.scene, self.sigma_px, self.hooks = scene, sigma_px, hooks
        self.strip_height = min(scene.height, strip_height_for(scene.width, strip_pixels))

    def __call__(self, vertices: np.ndarray, steps: np.ndarray, offsets: np.ndarray):
        """Yields (indices of the vertices whose row is in a strip, their samples (vertices, offsets)): at vertex +
        offset x step (array indices, pixel centres at integers), bilinear; NaN outside the scene or in no-data."""
        scene = self.scene
        if len(vertices) == 0:
            return
        reach = int(np.ceil(np.abs(offsets).max() * np.abs(steps[:, 1]).max())) + 1
        halo = despeckle_halo(self.sigma_px)
        vertex_rows = np.clip(np.floor(vertices[:, 1]).astype(int), 0, scene.height - 1)
        for row in range(0, scene.height, self.strip_height):
            chosen = np.flatnonzero((vertex_rows >= row) & (vertex_rows < row + self.strip_height))
            if chosen.size == 0:
                continue
            self.hooks.check_cancel()
            first, end = max(0, row - reach), min(scene.height, row + self.strip_height + reach + 1)
            top, bottom = max(0, first - halo), min(scene.height, end + halo)
            smoothed = despeckle(scene.read_db(0, top, scene.width, bottom - top), self.sigma_px)[first - top:end - top]
            points = vertices[chosen, None, :] + offsets[None, :, None] * steps[chosen, None, :]
            cols, rows = points[..., 0].ravel(), points[..., 1].ravel()
            inside = (cols >= 0) & (cols <= scene.width - 1) & (rows >= 0) & (rows <= scene.height - 1)
            values = np.full(cols.shape, np.nan, np.float32)
            values[inside] = ndimage.map_coordinates(smoothed, [rows[inside] - first, cols[inside]], order=1,
                                                     mode="nearest")
            yield chosen, values.reshape(len(chosen), len(offsets))
