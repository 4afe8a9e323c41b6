"""Coarse to fine: a context model decides water and land at a coarse pixel over the whole scene; the line is
drawn at the scene's own pixel only in a band around that decision, from the image's own edge.

1. One streamed pass reduces the scene to coarse cells (`coarse_pixel_m` of the model, 40 m: 13 x 13 pixels at
   3 m, 4 x 4 at 10 m): the dB of the mean intensity, the mean dB, the valid share; a dual-pol raster's other
   band too. The context model (models/context.py) gives P(land) per cell: which bright patch is wind-roughened
   sea, which dark field is land, where the sea goes on.
2. Per cell, the local water and land levels: the mean dB of confidently water and confidently land cells
   nearby (a Gaussian of `LEVEL_SIGMA_CELLS`, wider where one side is missing; unsure land cells at the water's
   level left out); the local threshold is half-way. Cells the model is unsure of count as boundary too, but not
   cells it is confident are water (a bright front in the sea).
3. Per scene pixel, a field whose 0-level contour is the line: within `band_cells` of the coarse boundary the
   despeckled dB against the local threshold (the image's own edge, sub-pixel), fading to the coarse decision at
   the band's edge; elsewhere the coarse decision alone, with no full-resolution read. Where water and land
   differ by too little for an edge (MIN_CONTRAST_DB), the coarse decision draws the line.
4. Sub-pixel contour in strips, joined across strips; the shared sea-only step and land-on-the-left follow.

Without torch or a context model it falls back to the classical method and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from ...models.context import is_context_model, load_context_model
from ..errors import InputError
from ..imaging.coarse import CoarseCells, coarse_factor, scene_cells
from ..imaging.speckle import despeckle, despeckle_halo, despeckle_sigma_for, estimate_looks
from ..inference.context import MIN_VALID_SHARE, ContextInputs, land_probability
from ..inference.loading import DEFAULT_CONTEXT_MODEL
from ..inference.predict import pick_device
from ..io.raster_reader import companion_band
from ..io.scene import STRIP_PIXELS, strip_height_for
from ..lines.pieces import Piece, join_pieces
from ..lines.vectorize import Coastline, KeepMask, pieces_to_lines, split_at
from . import classical
from .contract import Method, MethodContext

NAME = "coarse_to_fine"
LEVEL_SIGMA_CELLS = 3.0  # how far the local water and land levels reach (cells)
WIDE_LEVEL_SIGMA_CELLS = 12.0  # where one side has no confident cell within the near reach
LEVEL_REACHES = ((WIDE_LEVEL_SIGMA_CELLS, 0.05), (LEVEL_SIGMA_CELLS, 0.05))  # (sigma, least weight): wide, then near
NEIGHBOURS = ((1.0, 0.0),)  # a cell's dB with its neighbours': at 40 m a cell is one speckled pixel
CONFIDENT = 0.2  # P(land) below this, or above 1 - this: a cell that sets a level
# P(land) from CONFIDENT up to 0.5 + this (0.2-0.95): a cell the model is unsure of, drawn from the image. On the land
# side, chosen on the second set's 3 m scenes among 0.25, 0.35 and 0.45 (mean score 12.09, 11.49, 11.18 m with a
# 2-cell band): dark channels the model half takes for land. On the water side, a cell the model is confident is
# water is not handed to the image: a bright current front is what the image gets wrong and the model is for.
UNSURE_MARGIN = 0.45
MIN_CONTRAST_DB = 3.0  # local water and land closer than this: no edge to draw from
EDGE_BAND_DB = 3.0  # dB around the local threshold where the contour takes its sub-pixel position
READ_TILE_PX = 128  # columns per tile of a strip read at full resolution: only tiles the band reaches are read
COARSE_SLOPE = 4.0  # the coarse term's steepness: P(land) 0.75 is as sure as a pixel 3 dB above the threshold


def context_model(config) -> Path:
    """The run's context model: the first of MODELS that is one, else the bundled one."""
    for given in config.models:
        path = Path(given)
        if path.suffix == ".safetensors" and path.exists() and is_context_model(path):
            return path
    if config.models:
        raise InputError("None of MODELS is a context model (made by `make train-default`, training/context.py); the "
                         "coarse-to-fine method needs one. Leave MODELS empty for the bundled one.")
    if not DEFAULT_CONTEXT_MODEL.exists():
        raise FileNotFoundError(DEFAULT_CONTEXT_MODEL)
    return DEFAULT_CONTEXT_MODEL


def levels(mean_db: np.ndarray, chosen: np.ndarray, reaches=LEVEL_REACHES) -> np.ndarray:
    """Per cell, the Gaussian-weighted mean dB of the `chosen` cells near it: for each (sigma, least weight) of
    `reaches` in turn, where the chosen cells weigh more than that; the scene's median where none is near."""
    values = np.where(chosen, np.nan_to_num(mean_db), 0.0).astype(np.float32)
    weights = chosen.astype(np.float32)
    result = np.full(mean_db.shape, float(np.median(mean_db[chosen])) if chosen.any() else np.nan, np.float32)
    for sigma, least in reaches:  # a nearer level overrides a wider one
        weight = ndimage.gaussian_filter(weights, sigma)
        level = ndimage.gaussian_filter(values, sigma) / np.maximum(weight, 1e-6)
        result = np.where(weight > least, level, result)
    return result


class CellGrid:
    """Coarse per-cell maps read at scene pixels (bilinear between cell centres)."""

    def __init__(self, factor: int, maps: dict[str, np.ndarray]):
        self.factor, self.maps = factor, maps

    def _axis(self, start: int, count: int, cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position = np.clip((np.arange(start, start + count) + 0.5) / self.factor - 0.5, 0, cells - 1)
        low = np.floor(position).astype(int)
        return low, np.minimum(low + 1, cells - 1), (position - low).astype(np.float32)

    def window(self, name: str, col: int, row: int, width: int, height: int) -> np.ndarray:
        grid = self.maps[name]
        row_low, row_high, row_weight = self._axis(row, height, grid.shape[0])
        col_low, col_high, col_weight = self._axis(col, width, grid.shape[1])
        low_rows, high_rows = grid[row_low], grid[row_high]
        top = low_rows[:, col_low] * (1 - col_weight) + low_rows[:, col_high] * col_weight
        bottom = high_rows[:, col_low] * (1 - col_weight) + high_rows[:, col_high] * col_weight
        return top * (1 - row_weight)[:, None] + bottom * row_weight[:, None]


def cell_distance(mask: np.ndarray) -> np.ndarray:
    """Per cell, the distance to the nearest cell of `mask` in cells (float32: a large scene has tens of millions of
    cells); inf where `mask` is empty."""
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    return ndimage.distance_transform_edt(~mask).astype(np.float32)


def coarse_maps(cells: CoarseCells, land_probability_map: np.ndarray, band_cells: float) -> dict[str, np.ndarray]:
    """The per-cell maps the fine stage reads: P(land) (NaN at no data), the local threshold and the fine weight
    (1 near the coarse boundary, fading to 0 at `band_cells`, 0 where there is no edge to draw from)."""
    usable = (cells.valid >= MIN_VALID_SHARE) & np.isfinite(cells.mean_db)
    land = usable & (land_probability_map > 0.5)
    water = usable & ~land
    # From a cell centre to the nearest cell of the other class, in cells: 1 next to the boundary. Cells the model is
    # unsure of count as boundary: there the image decides (a narrow channel the coarse pixel smears).
    distance = np.where(land, cell_distance(water), cell_distance(land)) - 0.5
    unsure = usable & (land_probability_map >= CONFIDENT) & (land_probability_map < 0.5 + UNSURE_MARGIN)
    if unsure.any():
        distance = np.minimum(distance, cell_distance(unsure))
    water_level = levels(cells.mean_db, usable & (land_probability_map < CONFIDENT))
    # A cell handed to the image (unsure) that reads at the water's own level, such as a dark channel the model half
    # takes for land, must not set the land level: it would pull it down to the water's and leave no contrast, and
    # the coarse decision alone would draw there (the channel closed at its mouth).
    at_water_level = levels(cells.mean_db, usable, NEIGHBOURS) <= water_level + MIN_CONTRAST_DB
    land_level = levels(cells.mean_db, usable & (land_probability_map > 1 - CONFIDENT) & ~(unsure & at_water_level))
    contrast = np.nan_to_num(land_level - water_level, nan=0.0)
    fade = np.clip((band_cells - distance) / (0.5 * band_cells), 0.0, 1.0)
    weight = fade * np.clip((contrast - MIN_CONTRAST_DB) / MIN_CONTRAST_DB, 0.0, 1.0)
    return {"land": np.where(usable, land_probability_map, np.nan).astype(np.float32),
            "threshold": np.nan_to_num((water_level + land_level) / 2, nan=0.0).astype(np.float32),
            "weight": weight.astype(np.float32)}


def band_runs(weight: np.ndarray, tile: int) -> list[tuple[int, int]]:
    """Column ranges of a strip to read at full resolution: the tiles of `tile` columns where the fine weight is
    anywhere above 0, neighbours merged."""
    width = weight.shape[1]
    tiles = -(-width // tile)
    padded = np.zeros((weight.shape[0], tiles * tile), bool)
    padded[:, :width] = weight > 0
    needed = padded.reshape(weight.shape[0], tiles, tile).any(axis=(0, 2))
    runs = []
    for index in np.flatnonzero(needed):
        left, right = int(index) * tile, min(width, (int(index) + 1) * tile)
        if runs and runs[-1][1] == left:
            runs[-1] = (runs[-1][0], right)
        else:
            runs.append((left, right))
    return runs


def fine_lines(context: MethodContext, grid: CellGrid, model_name: str) -> tuple[list[Coastline], float]:
    """The lines from the field of step 3, strip by strip; and the share of the scene read at full resolution."""
    scene, config, hooks = context.scene, context.config, context.hooks
    sigma_px = despeckle_sigma_for(estimate_looks(scene), config.classical.looks_share)
    halo = despeckle_halo(sigma_px)
    # Strips of whole tiles' worth of rows at most: the band, not the strip, decides what is read.
    strip_height = min(scene.height, READ_TILE_PX * 4, strip_height_for(scene.width, STRIP_PIXELS))
    water_map = context.water_map(1)
    keep_mask = KeepMask(config.nodata_margin_px, 1, scene.width, scene.height)
    pieces, previous_row, read_pixels = [], None, 0
    strips = range(0, scene.height, strip_height)
    for index, row in enumerate(strips):
        hooks.check_cancel()
        height = min(strip_height, scene.height - row)
        land = grid.window("land", 0, row, scene.width, height)
        field = np.clip((land - 0.5) * COARSE_SLOPE, -1.0, 1.0)
        weight = grid.window("weight", 0, row, scene.width, height)
        for left, right in band_runs(weight, READ_TILE_PX):
            read_left, read_right = max(0, left - halo), min(scene.width, right + halo)
            top, bottom = max(0, row - halo), min(scene.height, row + height + halo)
            db = scene.read_db(read_left, top, read_right - read_left, bottom - top)
            smoothed = despeckle(db, sigma_px)[row - top:row - top + height, left - read_left:right - read_left]
            read_pixels += (right - left) * height
            threshold = grid.window("threshold", left, row, right - left, height)
            fine = np.clip((smoothed - threshold) / EDGE_BAND_DB, -1.0, 1.0)
            part = weight[:, left:right]
            mixed = part * fine + (1 - part) * field[:, left:right]
            field[:, left:right] = np.where(np.isfinite(smoothed), mixed, np.nan)
        valid = np.isfinite(field)
        # No exact zeros off no-data: the contour must fall between pixels, on the side the field says.
        field = np.where(valid, np.where(field >= 0, np.maximum(field, 1e-3), np.minimum(field, -1e-3)), np.nan)
        water_map.add(row, valid & (field < 0), valid)
        keep_mask.add(valid.astype(np.float32))
        block, block_top = (field, row) if previous_row is None else (np.concatenate([previous_row, field]), row - 1)
        previous_row = field[-1:]
        if len(block) >= 2 and np.nanmin(block) < 0 < np.nanmax(block):
            pieces.extend(Piece(contour[:, ::-1] + [0.5, block_top + 0.5]) for contour in find_contours(block, 0.0))
        hooks.progress(40 + 55 * (index + 1) / len(strips))
    pieces = join_pieces(pieces)
    cut = []
    for piece in pieces:  # the exclusion mask is complete only now: vertices near no-data or the border go
        for run in split_at(piece.xy, ~keep_mask.sample(piece.xy)):
            cut.append(Piece(piece.xy[run]))
    lines = pieces_to_lines(cut, [np.ones(len(piece.xy), bool) for piece in cut], 1, scene.geotransform,
                            config.min_length_m)
    coastlines = [Coastline(coords, {"models": model_name, "confidence": None, "uncertainty_m": None})
                  for _index, coords, _run in lines]
    return coastlines, read_pixels / float(scene.width * scene.height)


def context_bands(scene, cells: CoarseCells, hooks) -> tuple[CoarseCells, CoarseCells | None]:
    """The context model's two bands: of a dual-pol raster the co-pol (brighter) one first and the cross-pol one
    second, as trained, whichever `scene` is; else the scene's cells alone. The line is still drawn from `scene`
    (and its levels from its own `cells`)."""
    companion = companion_band(scene)
    if companion is None:
        return cells, None
    other = scene_cells(companion, cells.factor, hooks)
    if np.nanmedian(other.intensity_db) > np.nanmedian(cells.intensity_db):
        return other, cells
    return cells, other


def context_probability(network, inputs: ContextInputs, meta, device: str, hooks,
                        flips: bool) -> tuple[np.ndarray, str]:
    """P(land) per cell on `device`, and the device it ran on. A GPU out of memory (another program holds it: a
    window is 512 cells) runs it again on the CPU, and says so."""
    import torch

    try:
        return land_probability(network, inputs, meta.tile_cells, 2 ** meta.encoder_depth, device, hooks, flips), device
    except torch.cuda.OutOfMemoryError:
        if device == "cpu":
            raise
        torch.cuda.empty_cache()
        hooks.warning("The GPU ran out of memory running the context model: it ran on the CPU instead (close other "
                      "GPU programs to use the GPU).")
        return land_probability(network, inputs, meta.tile_cells, 2 ** meta.encoder_depth, "cpu", hooks, flips), "cpu"


def run(context: MethodContext) -> list[Coastline]:
    scene, config, hooks = context.scene, context.config, context.hooks
    try:
        path = context_model(config)
        meta, network = load_context_model(path)
    except (ImportError, FileNotFoundError) as error:
        missing = "torch or segmentation-models-pytorch" if isinstance(error, ImportError) else "the context model"
        hooks.warning(f"The coarse-to-fine method needs {missing}, which is not installed: the classical method ran "
                      "instead (install the plugin's dependencies, or choose the classical method).")
        return classical.run(context)
    factor = coarse_factor(scene.pixel_size, meta.coarse_pixel_m)
    cells = scene_cells(scene, factor, hooks.span(0, 30))
    if not (cells.valid >= MIN_VALID_SHARE).any():
        raise InputError(f"'{scene.name}' holds only no-data pixels (value {scene.nodata} or 0). Check the band and "
                         "the no-data setting of the layer.")
    first, second = context_bands(scene, cells, hooks.span(30, 35))
    flips = cells.valid.size <= meta.test_time_flips_max_cells
    device = pick_device(config.inference.device, hooks.log)
    probability, device = context_probability(network, ContextInputs(first, second), meta, device, hooks.span(35, 40),
                                              flips)
    maps = coarse_maps(cells, probability, meta.band_cells)
    coarse_m, band_m = factor * scene.pixel_size, meta.band_cells * factor * scene.pixel_size
    lines, read_share = fine_lines(context, CellGrid(factor, maps), path.stem)
    hooks.figures.update(coarse_pixel_m=coarse_m, band_half_width_m=band_m, full_resolution_share=read_share,
                         context_bands=1 if second is None else 2, context_flips=flips, context_device=device)
    hooks.note(f"Coarse to fine: the context model '{path.name}' read the scene at {coarse_m:g} m ({factor} x {factor} "
               f"px cells{', both polarisations' if second is not None else ''}"
               f"{', with its mirror images' if flips else ', one pass (a large scene)'}, on the "
               f"{'GPU' if device == 'cuda' else 'CPU'}); the line was drawn from the "
               f"image within {band_m:g} m of its water/land boundary, reading {read_share:.1%} of the scene at full "
               "resolution.")
    return lines


METHOD = Method(NAME, "Coarse to fine (context model at a coarse pixel, the line from the image's own edge)",
                "A context model decides water and land at a coarse pixel (which bright patch is sea); the line is "
                "drawn from the image's own edge in a band around that boundary.", run, uses_models=True,
                ensemble=False)
