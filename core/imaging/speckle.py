"""Speckle: the looks of a scene and a despeckle Gaussian that follows them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage, special

ONE_LOOK_SIGMA_PX = 2.0  # despeckle Gaussian for a 1-look scene: about 50 pixels averaged


MIN_SIGMA_PX = 0.7  # below this the filter barely smooths, whatever the looks


LOOKS_BLOCK_PX = 8


LOOKS_BANDS, LOOKS_BAND_ROWS = 16, 64  # rows sampled to estimate the looks: at most 1024 rows


def despeckle(db: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian filter in dB, normalised over valid pixels so no-data does not bleed in.

    Averaging in dB (not intensity) keeps a sea/land edge's threshold crossing where the edge is: in
    intensity the bright side dominates and the contour drifts about one sigma seaward. Pixels mostly
    surrounded by data get a value even if they had none (isolated no-data specks are filled); the rest
    of the no-data stays NaN.
    """
    valid = np.isfinite(db)
    with ThreadPoolExecutor(1) as helper:  # the two filters at once: ndimage releases the GIL
        weight = helper.submit(ndimage.gaussian_filter, valid.astype(np.float32), sigma_px)
        smoothed = ndimage.gaussian_filter(np.where(valid, db, 0.0).astype(np.float32), sigma_px)
        weight = weight.result()
    with np.errstate(divide="ignore", invalid="ignore"):
        result = smoothed / weight
    result[weight < 0.5] = np.nan
    return result


def estimate_looks(scene) -> float | None:
    """The scene's equivalent number of looks: the 75th percentile of mean^2 / variance of intensity over 8 x 8
    blocks of valid pixels, in up to 16 bands of rows spread down the scene. Texture and edges lower a block's
    figure and homogeneous areas (calm sea) give the true one, hence a high percentile; not the highest, since
    64-pixel estimates scatter. None when no block is wholly valid (the scene is smaller than a block)."""
    rows = min(LOOKS_BAND_ROWS, scene.height) // LOOKS_BLOCK_PX * LOOKS_BLOCK_PX
    cols = scene.width // LOOKS_BLOCK_PX * LOOKS_BLOCK_PX
    if rows == 0 or cols == 0:
        return None
    ratios = []
    for top in np.unique(np.linspace(0, scene.height - rows, LOOKS_BANDS).astype(int)):
        intensity = np.power(10.0, scene.read_db(0, int(top), cols, rows).astype(np.float64) / 10.0)
        blocks = intensity.reshape(rows // LOOKS_BLOCK_PX, LOOKS_BLOCK_PX, cols // LOOKS_BLOCK_PX, LOOKS_BLOCK_PX)
        blocks = blocks.transpose(0, 2, 1, 3).reshape(-1, LOOKS_BLOCK_PX**2)
        blocks = blocks[np.isfinite(blocks).all(axis=1)]
        variance = blocks.var(axis=1, ddof=1)
        blocks, variance = blocks[variance > 0], variance[variance > 0]
        ratios.append(blocks.mean(axis=1) ** 2 / variance)
    ratios = np.concatenate(ratios)
    return float(np.percentile(ratios, 75)) if len(ratios) else None


def despeckle_sigma_for(looks: float | None, share: float = 1.0) -> float:
    """The despeckle Gaussian for a scene of `looks` looks. With `share` 1: the sigma that leaves as much noise in
    dB as a 1-look scene keeps after 2 px (the dB noise of L-look intensity goes as the square root of the trigamma
    function of L), so a multilooked product (Sentinel-1 GRD, ScanSAR) keeps its small features sharp. With a
    smaller share, that far from 2 px towards it in log scale (0: 2 px whatever the looks). None: 1 look."""
    if looks is None or not math.isfinite(looks) or looks <= 1.0:
        return ONE_LOOK_SIGMA_PX
    ratio = math.sqrt(float(special.polygamma(1, looks)) / float(special.polygamma(1, 1.0)))
    return max(MIN_SIGMA_PX, ONE_LOOK_SIGMA_PX * ratio**share)


def despeckle_halo(sigma_px: float) -> int:
    """Rows a strip needs on each side so its despeckle equals the whole scene's (the Gaussian's reach)."""
    return math.ceil(4.0 * sigma_px)


def despeckled_strips(scene, sigma_px: float, strip_height: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, dB strip, despeckled strip) down the scene; each strip is read with a halo of rows, so the
    result is the whole-scene despeckle cut into strips."""
    halo = despeckle_halo(sigma_px)
    for row in range(0, scene.height, strip_height):
        rows = min(strip_height, scene.height - row)
        top, bottom = max(0, row - halo), min(scene.height, row + rows + halo)
        block = scene.read_db(0, top, scene.width, bottom - top)
        inner = slice(row - top, row - top + rows)
        yield row, block[inner], despeckle(block, sigma_px)[inner]
