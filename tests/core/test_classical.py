import numpy as np
import pytest
import shapely

from sar_coastline.core import classical
from sar_coastline.core.errors import Cancelled, InputError
from sar_coastline.core.extract import ExtractConfig, extract
from sar_coastline.core.vector import split_at
from testdata import two_halves_dn, write_raster


def test_otsu_separates_two_populations():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(-20, 1, 5000), rng.normal(-6, 1, 3000), [np.nan] * 10])
    assert -17 < classical.otsu_threshold(values) < -9


def test_otsu_refuses_a_flat_scene():
    with pytest.raises(InputError, match="no contrast"):
        classical.otsu_threshold(np.full(100, 3.0))


def test_despeckle_keeps_nodata_out_of_valid_pixels_and_fills_specks():
    db = np.full((50, 50), -10.0, np.float32)
    db[:, :20] = np.nan
    db[30, 35] = np.nan  # a dead pixel
    smoothed = classical.despeckle(db, 3.0)
    assert np.isnan(smoothed[:, :19]).all()
    np.testing.assert_allclose(smoothed[:, 20:], -10.0, atol=1e-4)


def test_small_regions_are_removed():
    mask = np.zeros((40, 40), bool)
    mask[2:4, 2:4] = True
    mask[10:30, 10:30] = True
    cleaned = classical.remove_small_regions(mask, 10)
    assert not cleaned[2:4, 2:4].any() and cleaned[10:30, 10:30].all()


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


def test_lines_stop_at_nodata_and_border(tmp_path):
    dn = two_halves_dn(256, 256, coast_col=100)
    dn[100:150, :] = 0
    result = extract(str(write_raster(tmp_path / "gap.tif", dn)), ExtractConfig(method="classical"))
    assert len(result.lines) == 2
    ys = np.concatenate([line.coords[:, 1] for line in result.lines])
    row = (6_000_000.0 - ys) / 3.0
    assert not ((row > 99) & (row < 151)).any()
    assert row.min() >= 1 and row.max() <= 255


def test_lines_are_simple_and_ordered(tmp_path):
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:300, 0:300]
    island = (rows - 150) ** 2 + (cols - 150) ** 2 < 60**2
    db = np.where(island, -6.0, -20.0)
    dn = np.clip(np.sqrt(10 ** ((db + 83) / 10) * rng.gamma(2.0, 0.5, db.shape)), 1, 65535).astype(np.uint16)
    result = extract(str(write_raster(tmp_path / "island.tif", dn)), ExtractConfig(method="classical"))
    assert len(result.lines) == 1
    line = shapely.LineString(result.lines[0].coords)
    assert line.is_simple and line.is_ring
    assert line.length == pytest.approx(2 * np.pi * 60 * 3.0, rel=0.05)


def test_split_at_cuts_a_ring_once():
    ring = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], float)
    bad = np.array([False, False, True, False, False])
    runs = split_at(ring, bad)
    assert len(runs) == 1
    np.testing.assert_array_equal(ring[runs[0]], [[1, 0], [0, 0], [0, 1]])


def test_cancel_stops_and_raises(tmp_path):
    path = write_raster(tmp_path / "halves.tif", two_halves_dn())
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        extract(str(path), ExtractConfig(method="classical"), cancel=cancel)


def test_dead_pixels_do_not_cut_the_line(tmp_path):
    dn = two_halves_dn(256, 256, coast_col=100)
    rng = np.random.default_rng(4)
    dn[rng.integers(0, 256, 300), rng.integers(0, 256, 300)] = 0  # scattered no-data pixels
    result = extract(str(write_raster(tmp_path / "dead.tif", dn)), ExtractConfig(method="classical"))
    assert len(result.lines) == 1 and result.lines[0].length_m > 0.9 * 256 * 3.0
