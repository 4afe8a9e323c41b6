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
    assert np.abs(line.coords[:, 0] - COAST_X).max() < 3.0
    np.testing.assert_array_equal(line.coords[:, 1], north_to_south(0.0).coords[:, 1])  # moved across only
    assert line.attributes == {"models": "m"}
    assert -20 < hooks.figures["edge_snap_threshold_db"] < -6 and hooks.figures["edge_snap_found_share"] > 0.9


def test_a_line_with_no_edge_within_reach_stays():
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    far = north_to_south(COAST_X - 3.0 * 40)  # 40 px into the sea
    [line] = snap_to_edge(scene, [far], 4.0)
    assert np.abs(line.coords[:, 0] - far.coords[:, 0]).max() < 3.0


def test_the_land_side_decides_which_crossing_counts():
    """Reversed, the line has the sea on its left: the only crossing it may take is land to sea, so it stays."""
    scene = array_scene(two_halves_dn(256, 256, coast_col=100), GEOTRANSFORM)
    reversed_line = north_to_south(COAST_X + 6.0)
    reversed_line.coords = reversed_line.coords[::-1].copy()
    [line] = snap_to_edge(scene, [reversed_line], 4.0)
    assert np.median(np.abs(line.coords[:, 0] - COAST_X - 6.0)) < 0.5


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
    assert np.abs(strips[0].coords[:, 0] - COAST_X).mean() < 1.0
