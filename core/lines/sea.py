"""The sea-only step every method shares: which water is the sea, which lines are its coast, and their side.

A method feeds a coarse water map strip by strip (`WaterMap.add`); once the scene is read, the sea is decided
from the image alone (README, section 'What "the coastline" is'):

- water cells (more than half of their valid pixels water) are joined 8-connected on a grid of about
  `cell_m` metres;
- a water body is sea when it touches the scene border or no-data joined to it (the sea goes on beyond the image;
  a processing gap inside the scene does not count), covers at least `min_sea_km2`, and holds at least
  `lake_share` of the largest such water (a lake or reservoir cut by the border is small beside the sea): for that
  share, bodies count as one where a channel narrower than a cell (cells with `channel_share` of water, a cell
  apart at most) or the no-data beyond a swath edge joins them, since the sea may go on there; when none is
  sea, the largest water body is;
- optionally (`island_contrast_db` > 0), with a brightness given (the classical method), an "island"
  enclosed by the sea whose median dB is less than `island_contrast_db` above the water/land threshold is
  taken for a wind-roughened or current-bright patch of sea, not land. Off by default: on generated scenes
  with radar-dark land (sand, mudflats, tarmac) it took more real islands for sea than it caught bright sea
  patches (docs/benchmarks.md, session 11);
- a line is kept where it runs between the sea and land: a sea cell and a land cell within one cell of it.

Where it fails: a scene that is all land with one lake calls the lake the sea; a lake cut by the scene border
that holds a twentieth of the sea counts as sea, and so does one joined to the sea through the no-data beyond a
swath edge; a bay that the border or the method's own map cuts off from the sea, under a twentieth of it, is
taken for a lake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..io.georef import map_to_pixel
from .vectorize import Coastline, split_at

SEA_ONLY, ALL_WATER = "sea", "all"
WATER_CHOICES = (SEA_ONLY, ALL_WATER)  # the Processing WATER enum: 0 sea only, 1 every water boundary
EIGHT_CONNECTED = np.ones((3, 3), bool)


@dataclass(frozen=True)
class SeaRule:
    # Coarse grid: a lagoon joined to the sea only by a narrower channel is not sea; the channel counts for lake_share.
    cell_m: float = 30.0
    min_sea_km2: float = 0.05  # a border-touching water body smaller than this is a pond, not the sea
    # Of the largest border-touching water (joined as below): less than this is a lake cut by the border. The
    # generated scenes' own definition of the sea (synthetic/scenes.py).
    lake_share: float = 1 / 20
    channel_share: float = 0.1  # a cell with this share of water may be a channel narrower than a cell
    island_contrast_db: float = 0.0  # classical, when > 0: a sea-enclosed "island" dimmer than threshold + this is sea


class WaterMap:
    """Coarse water shares of a scene on a method's grid (scene pixels times `stride`), fed strip by strip."""

    def __init__(self, scene, stride: int, rule: SeaRule | None = None):
        self.rule = rule = rule or SeaRule()
        self.stride = stride
        self.geotransform = scene.geotransform
        grid_width, grid_height = -(-scene.width // stride), -(-scene.height // stride)
        self.cell = max(1, round(rule.cell_m / (scene.pixel_size * stride)))  # grid units per coarse cell
        self.cell_km2 = (self.cell * stride * scene.pixel_size) ** 2 / 1e6
        shape = (-(-grid_height // self.cell), -(-grid_width // self.cell))
        self.water = np.zeros(shape, np.float32)
        self.valid = np.zeros(shape, np.float32)
        self.brightness_sum = np.zeros(shape, np.float32)
        self.threshold_db: float | None = None  # the feeder's water/land threshold, when it gives brightness
        self.fed = False
        self.near_sea: np.ndarray | None = None
        self.near_land: np.ndarray | None = None

    def add(self, first_row: int, water: np.ndarray, valid: np.ndarray, brightness_db: np.ndarray | None = None
            ) -> None:
        """Rows first_row.. of the grid: water and valid masks, and optionally the despeckled dB."""
        self.fed = True
        coarse_rows = (first_row + np.arange(len(water))) // self.cell
        np.add.at(self.water, coarse_rows, self._columns(water & valid))
        np.add.at(self.valid, coarse_rows, self._columns(valid))
        if brightness_db is not None:
            np.add.at(self.brightness_sum, coarse_rows, self._columns(np.where(valid, brightness_db, 0.0)))

    def _columns(self, values: np.ndarray) -> np.ndarray:
        """Per row, sums over each coarse cell's columns."""
        padded = np.zeros((len(values), self.water.shape[1] * self.cell), np.float32)
        padded[:, :values.shape[1]] = values
        return padded.reshape(len(values), self.water.shape[1], self.cell).sum(axis=2)

    def decide(self) -> dict:
        """Decide the sea (after the last strip). Returns figures for the log."""
        has_data = self.valid > 0
        share = np.divide(self.water, self.valid, out=np.zeros_like(self.water), where=has_data)
        water = has_data & (share > 0.5)
        bodies, count = ndimage.label(water, structure=EIGHT_CONNECTED)
        cells = np.bincount(bodies.ravel(), minlength=count + 1)
        # Beyond the image: the border, and no-data joined to it (outside the swath). A gap inside the scene
        # (a processing hole) is not: water touching only a gap is no more likely the sea than any other.
        outside = np.pad(~has_data, 1, constant_values=True)
        outside_parts, _count = ndimage.label(outside, structure=EIGHT_CONNECTED)
        outside = outside_parts == outside_parts[0, 0]
        outside_near = ndimage.binary_dilation(outside, EIGHT_CONNECTED)[1:-1, 1:-1]
        touching = np.zeros(count + 1, bool)
        touching[np.unique(bodies[outside_near & water])] = True
        large = cells * self.cell_km2 >= self.rule.min_sea_km2
        reaches_out = touching & large
        reaches_out[0] = False
        joined = self._joined_water(water, share, outside[1:-1, 1:-1], bodies, count)
        is_sea = reaches_out & (joined >= self.rule.lake_share * joined[reaches_out].max(initial=0))
        if not is_sea.any() and count:
            is_sea[np.argmax(cells[1:]) + 1] = True
        sea = is_sea[bodies]
        land = has_data & ~water
        patches = 0
        threshold_db = self.threshold_db
        if threshold_db is not None and self.rule.island_contrast_db > 0:
            brightness = np.divide(self.brightness_sum, self.valid, out=np.zeros_like(self.water), where=has_data)
            islands, island_count = ndimage.label(land, structure=EIGHT_CONNECTED)
            if island_count:
                ring = ndimage.binary_dilation(islands > 0, EIGHT_CONNECTED) & ~(islands > 0)
                # Per island: is all of its surrounding ring sea, and how bright is it?
                ring_owner = ndimage.grey_dilation(islands, footprint=EIGHT_CONNECTED)
                not_sea_ring = np.bincount(ring_owner[ring & ~sea], minlength=island_count + 1)
                medians = np.asarray(ndimage.median(brightness, islands, np.arange(1, island_count + 1)))
                dim = np.concatenate([[False], (not_sea_ring[1:] == 0)
                                      & (medians < threshold_db + self.rule.island_contrast_db)])
                patch = dim[islands]
                patches = int(dim.sum())
                sea |= patch
                land &= ~patch
        # Cells with sea (or land) within one cell: sampled at every vertex of every line, so made once.
        self.near_sea = ndimage.binary_dilation(sea, EIGHT_CONNECTED)
        self.near_land = ndimage.binary_dilation(land, EIGHT_CONNECTED)
        return {"sea_km2": round(float(sea.sum() * self.cell_km2), 3),
                "inland_water_bodies": int(count - is_sea[1:].sum()), "sea_patches_as_sea": patches}

    def _joined_water(self, water: np.ndarray, share: np.ndarray, beyond_edge: np.ndarray, bodies: np.ndarray,
                      count: int) -> np.ndarray:
        """Per water body, the water cells of the bodies joined to it through channels narrower than a cell (cells with
        some water, a cell apart at most) or the no-data beyond a swath edge."""
        joining = ndimage.binary_dilation(share > self.rule.channel_share, EIGHT_CONNECTED)
        joining |= water
        joining |= beyond_edge
        groups, group_count = ndimage.label(joining, structure=EIGHT_CONNECTED)
        del joining  # a whole-scene grid: at 400 Mpx and 10 m pixels, 47 million cells
        in_water = groups[water]
        group_water = np.bincount(in_water, minlength=group_count + 1)
        group_of = np.zeros(count + 1, int)
        group_of[bodies[water]] = in_water  # every cell of a body lies in one group; index 0 (no body): no water
        return group_water[group_of]

    def _grid(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates to coarse cells (continuous: cell centres at +0.5)."""
        x, y = map_to_pixel(self.geotransform, coords[:, 0], coords[:, 1])
        return x / (self.stride * self.cell), y / (self.stride * self.cell)

    def _at(self, mask: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """Per vertex: the value of a coarse mask at the vertex's cell."""
        cols, rows = self._grid(coords)
        rows = np.clip(np.floor(rows).astype(int), 0, mask.shape[0] - 1)
        cols = np.clip(np.floor(cols).astype(int), 0, mask.shape[1] - 1)
        return mask[rows, cols]

    def sea_coast(self, lines: list[Coastline], min_length_m: float) -> list[Coastline]:
        """The parts of `lines` between the sea and land; shorter than `min_length_m` dropped."""
        kept = []
        for line in lines:
            between = self._at(self.near_sea, line.coords) & self._at(self.near_land, line.coords)
            for run in split_at(line.coords, ~between):
                part = Coastline(line.coords[run], dict(line.attributes))
                if part.length_m >= min_length_m:
                    kept.append(part)
        return kept

    def land_on_left(self, lines: list[Coastline]) -> list[Coastline]:
        """Each line reversed where needed so that land is on its left (OpenStreetMap's convention): water
        shares sampled one cell to either side of every segment decide by majority."""
        share = np.divide(self.water, self.valid, out=np.full_like(self.water, np.nan), where=self.valid > 0)
        share = np.nan_to_num(share, nan=0.5)
        cell_m = self.cell * self.stride * float(np.hypot(self.geotransform[1], self.geotransform[4]))
        for line in lines:
            middles = (line.coords[1:] + line.coords[:-1]) / 2
            steps = np.diff(line.coords, axis=0)
            lengths = np.hypot(steps[:, 0], steps[:, 1])
            usable = lengths > 0
            if not usable.any():
                continue
            left = np.column_stack([-steps[usable, 1], steps[usable, 0]]) / lengths[usable, None] * cell_m
            water_left = self._sample(share, middles[usable] + left)
            water_right = self._sample(share, middles[usable] - left)
            if np.sum((water_left - water_right) * lengths[usable]) > 0:
                line.coords = line.coords[::-1].copy()
        return lines

    def _sample(self, share: np.ndarray, coords: np.ndarray) -> np.ndarray:
        cols, rows = self._grid(coords)
        return ndimage.map_coordinates(share, [rows - 0.5, cols - 0.5], order=1, mode="nearest")
