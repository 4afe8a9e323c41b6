"""The model-free method: calibrated dB, despeckle, Otsu on valid pixels, clean-up, sub-pixel contour.

It streams like the model path: the scene is read in strips of a bounded number of pixels, in four passes
(histogram for the threshold, land regions, sea regions, contour). Each pass despeckles its strips again from
the scene, with a halo of rows so a strip equals the same rows of the whole-scene filter; between passes only
a histogram, region sizes and the exclusion mask's bits are kept. No whole-scene array is held.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from .errors import InputError
from .hooks import RunHooks, as_hooks

STRIP_PIXELS = 4_000_000  # per strip: bounds the working memory (~30 bytes a pixel) whatever the scene size
EIGHT_CONNECTED = np.ones((3, 3), bool)
NO_CONTRAST = "The scene has no contrast between sea and land (all valid pixels are equal)."


ONE_LOOK_SIGMA_PX = 2.0  # despeckle Gaussian for a 1-look scene: about 50 pixels averaged
MIN_SIGMA_PX = 0.7  # below this the filter barely smooths, whatever the looks
LOOKS_BLOCK_PX = 8
LOOKS_BANDS, LOOKS_BAND_ROWS = 16, 64  # rows sampled to estimate the looks: at most 1024 rows


@dataclass(frozen=True)
class ClassicalParams:
    despeckle_sigma_px: float | None = None  # Gaussian in dB; None: from the scene's looks (despeckle_sigma_for)
    # How far the despeckle follows the looks (despeckle_sigma_for's share): the full noise match drew the outlines
    # of low-contrast features (fronts, bright sea) so rough that the lines doubled (docs/benchmarks.md, session 13)
    looks_share: float = 0.5
    min_area_m2: float = 10_000.0     # islands and lakes smaller than this are speckle, not coast
    contour_band_db: float = 3.0      # dB around the threshold where the contour takes sub-pixel position


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


def otsu_threshold(values: np.ndarray, bins: int = 512) -> float:
    """Otsu's threshold of the finite values (between-class variance maximised on a histogram)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError("No valid pixels to threshold.")
    low, high = np.percentile(finite, [0.1, 99.9])
    if high <= low:
        raise InputError(NO_CONTRAST)
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return otsu_of_histogram(counts, edges)


def otsu_of_histogram(counts: np.ndarray, edges: np.ndarray) -> float:
    """The bin centre that maximises the between-class variance of a histogram."""
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centres[np.nanargmax(between)])


class DbHistogram:
    """Counts of dB values in 1/1024 dB bins from -512 to +512 dB (8 MB whatever the scene size), fed strip by
    strip; values beyond are counted in the end bins. Gives otsu_threshold's result to within one of its bins."""

    LOW, STEP, BINS = -512.0, 1.0 / 1024, 1 << 20

    def __init__(self):
        self.counts = np.zeros(self.BINS, np.int64)

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)].astype(np.float64)
        if finite.size == 0:
            return
        index = np.clip(np.floor((finite - self.LOW) / self.STEP), 0, self.BINS - 1).astype(np.int64)
        first = int(index.min())
        counted = np.bincount(index - first)
        self.counts[first:first + len(counted)] += counted

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentiles(self, quantiles: list[float]) -> list[float]:
        """As np.percentile (linear between order statistics), each order statistic at its bin's centre."""
        cumulative = np.cumsum(self.counts)
        total = int(cumulative[-1])

        def order_statistic(rank: int) -> float:
            return self.LOW + (int(np.searchsorted(cumulative, rank, side="right")) + 0.5) * self.STEP

        values = []
        for quantile in quantiles:
            position = (total - 1) * quantile / 100.0
            rank = int(position)
            value = order_statistic(rank)
            if rank + 1 < total:
                value += (position - rank) * (order_statistic(rank + 1) - value)
            values.append(value)
        return values

    def otsu_threshold(self, bins: int = 512) -> float:
        """otsu_threshold of the values counted: the same percentile range and bins, from the fine counts."""
        if self.total == 0:
            raise InputError("No valid pixels to threshold.")
        low, high = self.percentiles([0.1, 99.9])
        if high <= low:
            raise InputError(NO_CONTRAST)
        filled = np.flatnonzero(self.counts)
        centres = self.LOW + (filled + 0.5) * self.STEP
        counts, edges = np.histogram(centres, bins=bins, range=(low, high), weights=self.counts[filled])
        return otsu_of_histogram(counts, edges)


def remove_small_regions(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop connected regions of `mask` smaller than `min_pixels` (8-connectivity)."""
    labels, count = ndimage.label(mask, structure=EIGHT_CONNECTED)
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


class SeamUnionFind:
    """Ids of the regions that touch strip seams, merged across seams: what every streamed labelling shares."""

    def __init__(self):
        self.parent: list[int] = []

    def new_ids(self, count: int) -> int:
        """`count` new ids, each its own region; returns the first."""
        first = len(self.parent)
        self.parent.extend(range(first, first + count))
        return first

    def root(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join_rows(self, above: np.ndarray, below: np.ndarray, diagonal: bool) -> list[tuple[int, int]]:
        """Merge the regions that touch across a seam, given the ids along the rows either side (-1: none);
        straight down, and diagonally too for 8-connectivity. Returns (kept root, merged root) per merge."""
        pairs = [np.column_stack([above, below])]
        if diagonal:
            pairs += [np.column_stack([above[:-1], below[1:]]), np.column_stack([above[1:], below[:-1]])]
        pairs = np.concatenate(pairs)
        merges = []
        for upper, lower in np.unique(pairs[(pairs >= 0).all(axis=1)], axis=0).tolist():
            root_upper, root_lower = self.root(upper), self.root(lower)
            if root_upper != root_lower:
                self.parent[root_lower] = root_upper
                merges.append((root_upper, root_lower))
        return merges

    def roots(self) -> np.ndarray:
        """Every id's root, at once."""
        roots = np.asarray(self.parent, np.int64)
        while True:
            deeper = roots[roots]
            if np.array_equal(deeper, roots):
                return roots
            roots = deeper


class RegionSizes:
    """Sizes of the 8-connected regions of a mask fed strip by strip (top to bottom), in bounded memory.

    Regions inside one strip are sized there and forgotten. Regions touching a strip's first or last row get
    an id, are merged across seams with a union-find, and are sized once every strip is in. `large()` then
    labels a strip's mask again (the same mask gives the same labels) and keeps its large regions, so
    `large(index, mask, n)` of every strip equals remove_small_regions(whole mask, n).
    """

    def __init__(self):
        self.first_ids: list[int] = []  # per strip: the id of its first seam region
        self.union = SeamUnionFind()
        self.sizes: list[int] = []
        self.last_row_ids: np.ndarray | None = None  # ids along the previous strip's last row, -1 off the mask
        self.region_sizes: np.ndarray | None = None  # per id, its whole region's size (after the last strip)

    @staticmethod
    def _label(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels, count = ndimage.label(mask, structure=EIGHT_CONNECTED)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        seam = np.unique(np.concatenate([labels[0], labels[-1]]))
        return labels, sizes, seam[seam > 0]

    def add(self, mask: np.ndarray) -> None:
        labels, sizes, seam = self._label(mask)
        first = self.union.new_ids(len(seam))
        self.first_ids.append(first)
        self.sizes.extend(sizes[seam].tolist())
        ids = np.full(len(sizes), -1, np.int64)
        ids[seam] = np.arange(first, first + len(seam))
        if self.last_row_ids is not None:
            self.union.join_rows(self.last_row_ids, ids[labels[0]], diagonal=True)
        self.last_row_ids = ids[labels[-1]]

    def _resolve(self) -> np.ndarray:
        roots = self.union.roots()
        totals = np.bincount(roots, weights=np.asarray(self.sizes, np.float64), minlength=len(roots))
        return totals[roots].astype(np.int64)

    def large(self, index: int, mask: np.ndarray, min_pixels: int) -> np.ndarray:
        """The pixels of strip `index` (the same mask as given to add) in regions of at least `min_pixels`."""
        if self.region_sizes is None:
            self.region_sizes = self._resolve()
        labels, sizes, seam = self._label(mask)
        first = self.first_ids[index]
        sizes[seam] = self.region_sizes[first:first + len(seam)]
        keep = sizes >= min_pixels
        keep[0] = False
        return keep[labels]


def land_field(smoothed: np.ndarray, land: np.ndarray, threshold: float, band_db: float) -> np.ndarray:
    """A field whose 0-level contour is the boundary of `land`: > 0 land, < 0 sea, 0 no-data. The despeckled dB
    within `band_db` of the threshold places it sub-pixel; the cleaned mask chooses the side."""
    field = np.clip((smoothed - threshold) / band_db, -1.0, 1.0)
    field = np.where(land, np.maximum(field, 1e-3), np.minimum(field, -1e-3)).astype(np.float32)
    field[~np.isfinite(smoothed)] = 0.0
    return field


def strip_height_for(width: int, strip_pixels: int = STRIP_PIXELS) -> int:
    """Rows per strip so a strip holds about `strip_pixels`, and at least a few rows."""
    return max(4, strip_pixels // max(width, 1))


def extract_lines(scene, params: ClassicalParams, min_length_m: float, nodata_margin_px: int,
                  hooks: RunHooks | None, strip_pixels: int = STRIP_PIXELS, water=None) -> list:
    """The classical method's lines of a scene (Coastline objects in map coordinates), streamed in strips.
    `water` (a core.sea.WaterMap on the scene's pixels) is fed the cleaned water mask and the despeckled dB."""
    from skimage.measure import find_contours

    from .coastline import Piece, join_pieces
    from .vector import Coastline, KeepMask, pieces_to_lines, split_at

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
