import numpy as np
import pytest
import shapely
from skimage.measure import find_contours

from sar_coastline.core.config import ClassicalParams, ExtractConfig
from sar_coastline.core.errors import Cancelled, InputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.imaging.regions import RegionSizes, remove_small_regions
from sar_coastline.core.imaging.speckle import (
    MIN_SIGMA_PX,
    ONE_LOOK_SIGMA_PX,
    despeckle,
    despeckle_sigma_for,
    despeckled_strips,
    estimate_looks,
)
from sar_coastline.core.imaging.threshold import DbHistogram, otsu_threshold
from sar_coastline.core.io.scene import array_scene
from sar_coastline.core.lines.pieces import Piece
from sar_coastline.core.lines.vectorize import KeepMask, pieces_to_lines, split_at
from sar_coastline.core.methods.classical import extract_lines, land_field
from sar_coastline.core.pipeline.extract import extract
from sar_coastline.synthetic.scenes import generate_scene
from testdata import two_halves_dn, write_raster

GEOTRANSFORM = (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0)


def test_otsu_separates_two_populations():
    from skimage.filters import threshold_otsu

    # Four times as much sea as land, overlapping a little: the mean (-18 dB) lies 3 dB from Otsu's split (-15 dB).
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(-20, 2, 8000), rng.normal(-10, 2, 2000), [np.nan] * 10])
    finite = values[np.isfinite(values)]
    threshold = otsu_threshold(values)
    # Brute force over the same histogram (512 bins over the 0.1-99.9 percentiles): each split's between-class
    # variance, the classes weighed at their bin centres; the threshold is the centre of the last bin below.
    counts, edges = np.histogram(finite, bins=512, range=tuple(np.percentile(finite, [0.1, 99.9])))
    centres = (edges[:-1] + edges[1:]) / 2
    splits = [k for k in range(1, 512) if counts[:k].any() and counts[k:].any()]
    between = [counts[:k].sum() * counts[k:].sum()
               * (np.average(centres[:k], weights=counts[:k]) - np.average(centres[k:], weights=counts[k:])) ** 2
               for k in splits]
    assert threshold == pytest.approx(centres[splits[int(np.argmax(between))] - 1], abs=1e-9)
    # and scikit-image's Otsu on the values themselves (256 bins over the whole range) to within one of its bins
    assert abs(threshold - threshold_otsu(finite)) < (finite.max() - finite.min()) / 256
    assert abs(threshold - np.mean(finite)) > 2.5


def test_otsu_refuses_a_flat_scene():
    with pytest.raises(InputError, match="no contrast"):
        otsu_threshold(np.full(100, 3.0))
    histogram = DbHistogram()
    histogram.add(np.full((10, 10), 3.0, np.float32))
    with pytest.raises(InputError, match="no contrast"):
        histogram.otsu_threshold()


def test_streamed_histogram_gives_the_whole_scene_threshold():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-21, 2, 60_000), rng.normal(-8, 3, 40_000)]).astype(np.float32)
    histogram = DbHistogram()
    for part in np.array_split(values, 7):
        histogram.add(part)
    low, high = np.percentile(values, [0.1, 99.9])
    np.testing.assert_allclose(histogram.percentiles([0.1, 99.9]), [low, high], atol=2 * histogram.STEP)
    assert abs(histogram.otsu_threshold() - otsu_threshold(values)) <= (high - low) / 512 + 1e-6


def test_despeckle_keeps_nodata_out_of_valid_pixels_and_fills_specks():
    db = np.full((50, 50), -10.0, np.float32)
    db[:, :20] = np.nan
    db[30, 35] = np.nan  # a dead pixel
    smoothed = despeckle(db, 3.0)
    assert np.isnan(smoothed[:, :19]).all()
    np.testing.assert_allclose(smoothed[:, 20:], -10.0, atol=1e-4)


def test_despeckled_strips_equal_the_whole_scene_filter():
    dn = generate_scene(160, 120, seed=2, style="rocky").dn
    scene = array_scene(dn, GEOTRANSFORM)
    whole = despeckle(scene.read_db(), 2.0)
    strips = list(despeckled_strips(scene, 2.0, 17))
    assert len(strips) == 8 and [row for row, _db, _smoothed in strips] == list(range(0, 120, 17))
    np.testing.assert_array_equal(np.concatenate([smoothed for _row, _db, smoothed in strips]), whole)


def test_small_regions_are_removed():
    mask = np.zeros((40, 40), bool)
    mask[2:4, 2:4] = True
    mask[10:30, 10:30] = True
    cleaned = remove_small_regions(mask, 10)
    assert not cleaned[2:4, 2:4].any() and cleaned[10:30, 10:30].all()


@pytest.mark.parametrize("strip_height", [1, 7, 50, 200])
def test_region_sizes_across_strips_equal_whole_scene_labelling(strip_height):
    rng = np.random.default_rng(5)
    mask = rng.random((200, 90)) < 0.45  # many regions, joined diagonally and across seams
    mask[:, 40] = True  # one region through every strip
    regions = RegionSizes()
    starts = range(0, len(mask), strip_height)
    for row in starts:
        regions.add(mask[row:row + strip_height])
    for min_pixels in (1, 5, 40, 1000):
        streamed = np.concatenate([regions.large(index, mask[row:row + strip_height], min_pixels)
                                   for index, row in enumerate(starts)])
        np.testing.assert_array_equal(streamed, remove_small_regions(mask, min_pixels))


def whole_scene_lines(scene, params: ClassicalParams, min_length_m: float, margin_px: int):
    """The classical method on the whole scene at once: the reference the streamed method must match."""
    smoothed = despeckle(scene.read_db(), params.despeckle_sigma_px)
    threshold = otsu_threshold(smoothed)
    valid = np.isfinite(smoothed)
    min_pixels = max(1, int(params.min_area_m2 / scene.pixel_size**2))
    land = remove_small_regions(valid & (smoothed > threshold), min_pixels)
    land = ~remove_small_regions(~land & valid, min_pixels) & valid
    field = land_field(smoothed, land, threshold, params.contour_band_db)
    pieces = [Piece(contour[:, ::-1] + 0.5) for contour in find_contours(field, 0.0)]
    keep_mask = KeepMask(margin_px, 1, scene.width, scene.height)
    keep_mask.add(valid.astype(np.float32))
    lines = pieces_to_lines(pieces, [keep_mask.sample(piece.xy) for piece in pieces], 1, scene.geotransform,
                            min_length_m)
    return threshold, [coords for _index, coords, _run in lines]


@pytest.mark.parametrize("seed", [11, 12])
def test_streamed_lines_match_the_whole_scene_method(seed):
    generated = generate_scene(512, 512, seed, "rocky")
    scene = array_scene(generated.dn, generated.geotransform)
    params = ClassicalParams(despeckle_sigma_px=2.0)
    threshold, reference = whole_scene_lines(scene, params, 60.0, 2)
    hooks = RunHooks()
    lines = extract_lines(scene, params, 60.0, 2, hooks, strip_pixels=512 * 37)
    assert hooks.figures["strips"] == 14
    low, high = np.nanpercentile(despeckle(scene.read_db(), params.despeckle_sigma_px), [0.1, 99.9])
    assert abs(hooks.figures["otsu_threshold_db"] - threshold) <= (high - low) / 512 + 1e-6  # within a bin
    assert len(reference) >= 2 and len(lines) == len(reference)
    ours = shapely.MultiLineString([line.coords for line in lines])
    theirs = shapely.MultiLineString(reference)
    assert ours.length == pytest.approx(theirs.length, rel=0.01)
    assert ours.hausdorff_distance(theirs) < 3.0  # under a pixel (3 m)
    vertices = shapely.points(np.concatenate(reference))
    assert np.mean(shapely.distance(vertices, ours)) < 0.3


def speckled_dn(looks: float, shape=(256, 320), seed: int = 0, sigma0_db=-12.0) -> np.ndarray:
    intensity = 10 ** ((np.asarray(sigma0_db) + 83.0) / 10.0) * np.random.default_rng(seed).gamma(looks, 1 / looks,
                                                                                                   shape)
    return np.clip(np.rint(np.sqrt(intensity)), 1, 65535).astype(np.uint16)


@pytest.mark.parametrize("looks", [1, 4, 12])
def test_estimate_looks_recovers_the_speckle_of_a_uniform_scene(looks):
    estimate = estimate_looks(array_scene(speckled_dn(looks), GEOTRANSFORM))
    assert looks * 0.9 < estimate < looks * 1.5  # a high percentile of 64-pixel estimates: a little above


def test_estimate_looks_skips_nodata_and_needs_a_whole_block():
    dn = speckled_dn(4)
    dn[:, :200] = 0
    assert 3.6 < estimate_looks(array_scene(dn, GEOTRANSFORM)) < 6
    assert estimate_looks(array_scene(speckled_dn(4, (7, 300)), GEOTRANSFORM)) is None


def test_despeckle_sigma_leaves_the_noise_of_one_look_at_two_pixels():
    assert despeckle_sigma_for(None) == despeckle_sigma_for(1.0) == ONE_LOOK_SIGMA_PX
    sigmas = [despeckle_sigma_for(looks) for looks in (1.5, 2.0, 4.0, 8.0, 100.0)]
    assert sigmas == sorted(sigmas, reverse=True) and sigmas[-1] == MIN_SIGMA_PX
    assert despeckle_sigma_for(4.0, 0.0) == 2.0
    assert despeckle_sigma_for(4.0, 0.5) == pytest.approx((2.0 * sigmas[2]) ** 0.5)  # geometric mean
    one_look = np.std(despeckle(array_scene(speckled_dn(1), GEOTRANSFORM).read_db(), 2.0)[20:-20, 20:-20])
    for looks, sigma in zip((2.0, 4.0), sigmas[1:3]):
        db = array_scene(speckled_dn(looks, seed=1), GEOTRANSFORM).read_db()
        assert np.std(despeckle(db, sigma)[20:-20, 20:-20]) == pytest.approx(one_look, rel=0.25)


def test_a_multilooked_scene_is_despeckled_less_and_says_so():
    dn = speckled_dn(16, sigma0_db=np.where(np.arange(320) < 150, -20.0, -6.0))
    hooks = RunHooks()
    lines = extract_lines(array_scene(dn, GEOTRANSFORM), ClassicalParams(), 60.0, 2, hooks)
    looks, sigma = hooks.figures["looks"], hooks.figures["despeckle_sigma_px"]
    assert looks > 12 and sigma == despeckle_sigma_for(looks, ClassicalParams().looks_share)
    assert 0.7 < sigma < 1.0 and any(f"looks, despeckled with a {sigma:.2f} px Gaussian" in n for n in hooks.notes)
    assert len(lines) == 1 and np.abs(lines[0].coords[:, 0] - (500_000.0 + 150 * 3.0)).max() < 3.0


def test_straight_coast_is_found_where_it_is(tmp_path):
    path = write_raster(tmp_path / "halves.tif", two_halves_dn(256, 256, coast_col=100))
    result = extract(str(path), ExtractConfig(method="classical"))
    assert len(result.lines) == 1
    line = result.lines[0]
    coast_x = 500_000.0 + 100 * 3.0
    assert np.abs(line.coords[:, 0] - coast_x).max() < 3.0  # within a pixel all along
    assert line.length_m > 0.9 * 256 * 3.0
    assert line.attributes["method"] == "classical" and line.attributes["scene"] == "halves"
    assert line.attributes["length_m"] == pytest.approx(line.length_m, abs=0.01)


def test_lines_stop_at_nodata_and_border():
    dn = two_halves_dn(256, 256, coast_col=100)
    dn[100:150, :] = 0
    lines = extract_lines(array_scene(dn, GEOTRANSFORM), ClassicalParams(), 60.0, 2, None,
                                    strip_pixels=256 * 30)  # the gap's edges fall inside strips and on seams
    assert len(lines) == 2
    row = (6_000_000.0 - np.concatenate([line.coords[:, 1] for line in lines])) / 3.0
    assert not ((row > 99) & (row < 151)).any()
    assert row.min() >= 1 and row.max() <= 255


def test_lines_are_simple_and_ordered():
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:300, 0:300]
    island = (rows - 150) ** 2 + (cols - 150) ** 2 < 60**2
    db = np.where(island, -6.0, -20.0)
    dn = np.clip(np.sqrt(10 ** ((db + 83) / 10) * rng.gamma(2.0, 0.5, db.shape)), 1, 65535).astype(np.uint16)
    lines = extract_lines(array_scene(dn, GEOTRANSFORM), ClassicalParams(), 60.0, 2, None,
                                    strip_pixels=300 * 25)  # the island spans five strips
    assert len(lines) == 1
    line = shapely.LineString(lines[0].coords)
    assert line.is_simple and line.is_ring
    assert line.length == pytest.approx(2 * np.pi * 60 * 3.0, rel=0.05)


def test_split_at_cuts_a_ring_once():
    ring = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], float)
    bad = np.array([False, False, True, False, False])
    runs = split_at(ring, bad)
    assert len(runs) == 1
    np.testing.assert_array_equal(ring[runs[0]], [[1, 0], [0, 0], [0, 1]])


def test_cancel_stops_the_run_between_strips():
    scene = array_scene(two_halves_dn(), GEOTRANSFORM)

    def run(cancel_at: int | None) -> tuple[bool, int, list[float]]:
        """(finished, cancel checks made, progress reported) of a run in strips of 32 rows (8 per pass)."""
        calls, progress = [], []

        def cancel() -> bool:
            calls.append(1)
            return len(calls) == cancel_at

        try:
            extract_lines(scene, ClassicalParams(), 60.0, 2,
                                    RunHooks(progress=progress.append, cancel=cancel), strip_pixels=256 * 32)
        except Cancelled:
            return False, len(calls), progress
        return True, len(calls), progress

    finished, all_checks, progress = run(None)
    assert finished and all_checks >= 4 * 8 and progress[-1] == 100  # checked at every strip of four passes
    finished, checks, progress = run(12)  # the fourth strip of the second pass
    assert not finished and checks == 12 < all_checks
    assert 25 <= max(progress) < 45


def test_cancel_through_extract(tmp_path):
    path = write_raster(tmp_path / "halves.tif", two_halves_dn())
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) == 2

    with pytest.raises(Cancelled):
        extract(str(path), ExtractConfig(method="classical"), RunHooks(cancel=cancel))
    assert len(calls) == 2


def test_all_nodata_scene_is_refused():
    with pytest.raises(InputError, match="only no-data"):
        extract_lines(array_scene(np.zeros((80, 80), np.uint16), GEOTRANSFORM),
                                ClassicalParams(), 60.0, 2, None)


def test_dead_pixels_do_not_cut_the_line(tmp_path):
    dn = two_halves_dn(256, 256, coast_col=100)
    rng = np.random.default_rng(4)
    dn[rng.integers(0, 256, 300), rng.integers(0, 256, 300)] = 0  # scattered no-data pixels
    result = extract(str(write_raster(tmp_path / "dead.tif", dn)), ExtractConfig(method="classical"))
    assert len(result.lines) == 1 and result.lines[0].length_m > 0.9 * 256 * 3.0
