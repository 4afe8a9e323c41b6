"""The edge snap: model lines moved a few pixels along their normals onto the image's water/land edge."""

import numpy as np
import pytest

from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.io.scene import array_scene
from sar_coastline.core.lines.refine import left_normals, snap_to_edge
from sar_coastline.core.lines.vectorize import Coastline
from testdata import two_halves_dn

GEOTRANSFORM = (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0)
COAST_X = 500_000.0 + 100 * 3.0  # two_halves_dn: sea west of column 100, land east


def north_to_south(x: float) -> Coastline:
    """A line going south at `x` from row 20 to 235: land (east) on its left."""
    return Coastline(np.array([[x, 6_000_000.0 - 3.0 * row] for row in range(20, 236)]), {"models": "m"})


def test_left_normals_point_left_of_the_direction():
    np.testing.assert_allclose(left_normals(north_to_south(0.0).coords)[:3], [[1.0, 0.0]] * 3)


@pytest.mark.parametrize("offset_px", [-3.0, -1.5, 2.0, 3.5])
def test_a_line_off_the_edge_is_moved_onto_it(offset_px):
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    hooks = RunHooks()
    [line] = snap_to_edge(scene, [north_to_south(COAST_X + 3.0 * offset_px)], 4.0, hooks)
    assert np.median(np.abs(line.coords[:, 0] - COAST_X)) < 1.0  # from 1.5-3.5 px off to under a third of a pixel
    # Speckle moves single crossings by up to 1.3 m (measured); a vertex landing a pixel (3 m) off fails.
    assert np.abs(line.coords[:, 0] - COAST_X).max() < 1.5
    np.testing.assert_array_equal(line.coords[:, 1], north_to_south(0.0).coords[:, 1])  # moved across only
    assert line.attributes == {"models": "m"}
    # Half-way between the despeckled water and land: (-20 - 6) / 2 dB plus the mean of 10 log10 of the two-look
    # speckle (gamma(2, 1/2): 10 (digamma(2) - ln 2) / ln 10 = -1.17 dB), give or take its spread over the sample.
    assert hooks.figures["edge_snap_threshold_db"] == pytest.approx(-13.0 - 1.17, abs=0.3)
    assert hooks.figures["edge_snap_found_share"] == 1.0  # every vertex has the edge within its 4 px


@pytest.mark.parametrize("into_sea_px", [40, 7])
def test_a_line_with_no_edge_within_reach_stays(into_sea_px):
    """40 px into the sea its samples see no land (no contrast); 7 px in, the threshold's samples (12 px) reach the
    land, but the search (4 px) finds no crossing."""
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    far = north_to_south(COAST_X - 3.0 * into_sea_px)
    hooks = RunHooks()
    [line] = snap_to_edge(scene, [far], 4.0, hooks)
    np.testing.assert_array_equal(line.coords, far.coords)  # not moved at all, not even by a fraction of a pixel
    assert hooks.figures.get("edge_snap_found_share", 0.0) == 0.0


def test_the_land_side_decides_which_crossing_counts():
    """Reversed, the line has the sea on its left: the only crossing it may take is land to sea, so it stays."""
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    reversed_line = north_to_south(COAST_X + 6.0)
    reversed_line.coords = reversed_line.coords[::-1].copy()
    [line] = snap_to_edge(scene, [reversed_line], 4.0)
    np.testing.assert_array_equal(line.coords, reversed_line.coords)  # no land-to-sea crossing: not moved at all


def test_reach_zero_leaves_the_lines_alone():
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    original = north_to_south(COAST_X + 9.0)
    [line] = snap_to_edge(scene, [original], 0.0)
    np.testing.assert_array_equal(line.coords, original.coords)


def test_strips_give_the_same_snap_as_one_read():
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    lines = [north_to_south(COAST_X + 6.0), north_to_south(COAST_X - 4.5)]
    whole = snap_to_edge(scene, lines, 4.0)
    hooks = RunHooks()
    strips = snap_to_edge(scene, lines, 4.0, hooks, strip_pixels=256 * 9)  # 29 strips: samples cross seams
    for one, other in zip(whole, strips):
        np.testing.assert_allclose(one.coords, other.coords, atol=1e-6)
    for line in strips:  # both found the edge: within 1.3 m everywhere (speckle), not a pixel off anywhere
        assert np.abs(line.coords[:, 0] - COAST_X).mean() < 1.0 and np.abs(line.coords[:, 0] - COAST_X).max() < 1.5
