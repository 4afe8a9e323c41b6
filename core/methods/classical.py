"""The classical, model-free method: calibrated dB, despeckle, Otsu threshold, clean-up, sub-pixel
contour, streamed in strips."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..config import ClassicalParams
from ..errors import InputError
from ..hooks import RunHooks, as_hooks
from ..imaging.regions import RegionSizes
from ..imaging.speckle import despeckle_sigma_for, despeckled_strips, estimate_looks
from ..imaging.threshold import DbHistogram
from ..io.scene import STRIP_PIXELS, strip_height_for
from ..lines.pieces import Piece, join_pieces
from ..lines.vectorize import Coastline, KeepMask, pieces_to_lines, split_at
from .contract import Method, MethodContext


def land_field(smoothed: np.ndarray, land: np.ndarray, threshold: float, band_db: float) -> np.ndarray:
    """A field whose 0-level contour is the boundary of `land`: > 0 land, < 0 sea, 0 no-data. The despeckled dB
    within `band_db` of the threshold places it sub-pixel; the cleaned mask chooses the side."""
    field = np.clip((smoothed - threshold) / band_db, -1.0, 1.0)
    field = np.where(land, np.maximum(field, 1e-3), np.minimum(field, -1e-3)).astype(np.float32)
    field[~np.isfinite(smoothed)] = 0.0
    return field


def extract_lines(scene, params: ClassicalParams, min_length_m: float, nodata_margin_px: int,
                  hooks: RunHooks | None, strip_pixels: int = STRIP_PIXELS, water=None) -> list:
    """The classical method's lines of a scene (Coastline objects in map coordinates), streamed in strips.
    `water` (a core.lines.sea.WaterMap on the scene's pixels) is fed the cleaned water mask and the despeckled dB."""
    from skimage.measure import find_contours

    hooks = as_hooks(hooks)
    sigma_px = params.despeckle_sigma_px
    if sigma_px is None:
        looks = estimate_looks(scene)
        sigma_px = despeckle_sigma_for(looks, params.looks_share)
        hooks.figures.update(looks=looks, despeckle_sigma_px=sigma_px)
        hooks.note(f"Speckle: about {looks:.1f} looks, despeckled with a {sigma_px:.2f} px Gaussian." if looks
                   else f"Speckle: too few valid pixels to estimate the looks; despeckled with {sigma_px:.2f} px.")
    strip_height = min(scene.height, strip_height_for(scene.width, strip_pixels))
    strip_count = -(-scene.height // strip_height)

    def strips(start: float, end: float) -> Iterator[tuple[int, int, np.ndarray]]:
        """(strip index, first row, despeckled strip) of one pass, with cancel and progress per strip."""
        for index, (row, _db, smoothed) in enumerate(despeckled_strips(scene, sigma_px,
                                                                        strip_height)):
            hooks.check_cancel()
            yield index, row, smoothed
            hooks.progress(start + (end - start) * (index + 1) / strip_count)

    # Pass 1: the threshold's histogram, the valid share and the exclusion mask.
    histogram = DbHistogram()
    keep_mask = KeepMask(nodata_margin_px, 1, scene.width, scene.height)
    valid_pixels = 0
    for _index, _row, smoothed in strips(0, 25):
        histogram.add(smoothed)
        valid = np.isfinite(smoothed)
        valid_pixels += int(np.count_nonzero(valid))
        keep_mask.add(valid.astype(np.float32))
    if valid_pixels == 0:
        raise InputError(f"'{scene.name}' holds only no-data pixels (value {scene.nodata} or 0), or too few valid "
                         "ones to despeckle. Check the band and the no-data setting of the layer.")
    threshold = histogram.otsu_threshold()
    valid_share = valid_pixels / (scene.width * scene.height)
    hooks.figures.update(otsu_threshold_db=threshold, valid_share=valid_share, strips=strip_count)
    hooks.note(f"Otsu threshold {threshold:.1f} dB on {valid_share:.0%} valid pixels.")
    if water is not None:
        water.threshold_db = threshold
    min_pixels = max(1, int(params.min_area_m2 / scene.pixel_size**2))

    def raw_land(smoothed: np.ndarray) -> np.ndarray:
        return smoothed > threshold  # NaN (no-data) compares False

    # Pass 2: land regions; pass 3: sea regions once small land regions are gone.
    land_regions = RegionSizes()
    for _index, _row, smoothed in strips(25, 45):
        land_regions.add(raw_land(smoothed))

    def sea_with_small_land(index: int, smoothed: np.ndarray) -> np.ndarray:
        return np.isfinite(smoothed) & ~land_regions.large(index, raw_land(smoothed), min_pixels)

    sea_regions = RegionSizes()
    for index, _row, smoothed in strips(45, 65):
        sea_regions.add(sea_with_small_land(index, smoothed))

    # Pass 4: the contour of the cleaned land, each strip with the previous strip's last row so the pieces of
    # one line share their end points on it exactly and can be joined. The exclusion mask is complete since
    # pass 1, so pieces are cut at once: only vertices that can be coast are held.
    pieces = []
    previous_row = None
    for index, row, smoothed in strips(65, 95):
        valid = np.isfinite(smoothed)
        land = valid & ~sea_regions.large(index, sea_with_small_land(index, smoothed), min_pixels)
        field = land_field(smoothed, land, threshold, params.contour_band_db)
        if water is not None:
            water.add(row, ~land, valid, smoothed)
        block, top = (field, row) if previous_row is None else (np.concatenate([previous_row, field]), row - 1)
        previous_row = field[-1:]
        if len(block) < 2:
            continue
        for contour in find_contours(block, 0.0):
            xy = contour[:, ::-1] + [0.5, top + 0.5]
            pieces.extend(Piece(xy[run]) for run in split_at(xy, ~keep_mask.sample(xy)))
    pieces = join_pieces(pieces)
    hooks.check_cancel()
    already_cut = [np.ones(len(piece.xy), bool) for piece in pieces]
    lines = pieces_to_lines(pieces, already_cut, 1, scene.geotransform, min_length_m)
    hooks.progress(100)
    return [Coastline(coords, {"models": "", "confidence": None, "uncertainty_m": None})
            for _index, coords, _run in lines]


NAME = "classical"


def run(context: MethodContext) -> list[Coastline]:
    """The classical lines; the method feeds a water map on the scene's own pixels."""
    config = context.config
    return extract_lines(context.scene, config.classical, config.min_length_m, config.nodata_margin_px,
                         context.hooks, water=context.water_map(1))


METHOD = Method(NAME, "Classical (model-free: calibrated dB, despeckle, Otsu, sub-pixel contour)",
                "Model-free: calibrated dB, despeckle, Otsu threshold, clean-up, sub-pixel contour.", run)
