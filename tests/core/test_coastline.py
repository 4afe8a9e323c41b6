import numpy as np
import pytest
import shapely

from sar_coastline.core.inference.predict import MapChannels, MemberChannels
from sar_coastline.core.lines.pieces import Piece, join_pieces, positions_to_pieces
from sar_coastline.core.methods.orientation_free import OrientationFree
from sar_coastline.core.methods.paper import (
    LAND,
    NODATA,
    SEA,
    PaperRules,
    ensemble_positions,
    peak_positions,
    softmax_coast_mask,
)

# The merged map of one softmax member, by name, as core.inference.stream.merged_channels gives it.
SOFTMAX_MAP = MapChannels(("member0:sea", "member0:nodata", "member0:land", "land", "land_variance", "coast",
                           "valid"))


def softmax_strip(land: np.ndarray, nodata: np.ndarray | None = None) -> np.ndarray:
    """Channels: sea, nodata, land, LAND, LAND variance (0: one sure member), COAST (unused), valid."""
    nodata = np.zeros_like(land, bool) if nodata is None else nodata
    p_land = np.where(nodata, 0.0, land.astype(float))
    p_nodata = nodata.astype(float)
    p_sea = 1.0 - p_land - p_nodata
    zeros = np.zeros_like(p_land)
    return np.stack([p_sea, p_nodata, p_land, p_land, zeros, zeros, (~nodata).astype(float)])


SOFTMAX = MemberChannels("m", "softmax", ("sea", "nodata", "land"), 1.0, 0)
SIGMOID = MemberChannels("s", "sigmoid", ("coast",), 1.0, 0)


def feed(rule, strip, rows_per_strip):
    for first in range(0, strip.shape[1], rows_per_strip):
        rule.add(first, strip[:, first:first + rows_per_strip])
    return rule.finish()


def test_softmax_rule_marks_where_sea_and_land_touch_ignoring_nodata():
    classes = np.full((5, 6), SEA)
    classes[:, 3:] = LAND
    classes[0, :] = NODATA
    mask = softmax_coast_mask(classes)
    assert mask[1:, 2:4].all() and not mask[1:, :2].any() and not mask[1:, 4:].any()
    assert not mask[0].any()
    only_nodata_and_land = np.where(np.arange(6) < 3, NODATA, LAND)[None].repeat(4, 0)
    assert not softmax_coast_mask(only_nodata_and_land).any()


def test_sigmoid_rule_finds_the_row_of_the_peak_with_subcell_precision():
    rows = np.arange(50)[:, None]
    truth = 20.3 + 0.1 * np.arange(40)
    probability = np.exp(-0.5 * ((rows + 0.5 - truth) / 2.0) ** 2)
    positions = peak_positions(probability, np.ones_like(probability, bool))
    np.testing.assert_allclose(positions, truth, atol=0.1)


def test_paper_rule_on_a_straight_coast_in_strips():
    land = np.zeros((60, 80))
    land[25:] = 1.0  # sea above row 25, land below
    pieces = feed(PaperRules([SOFTMAX], SOFTMAX_MAP, 80, 60), softmax_strip(land), 16)
    assert len(pieces) == 1
    np.testing.assert_allclose(pieces[0].xy[:, 1], 25.0)
    assert pieces[0].xy[0, 0] == 0.5 and pieces[0].xy[-1, 0] == 79.5


def test_gap_filling_where_the_coast_is_steeper_than_the_diagonal():
    positions = np.array([10.0, 10.5, 16.0, 16.2, np.nan, 3.0, 4.0])
    pieces = positions_to_pieces(positions)
    assert len(pieces) == 2
    steps = np.hypot(*np.diff(pieces[0].xy, axis=0).T)
    assert steps.max() <= np.sqrt(2) + 1e-9  # no jump left: the trace is connected
    assert pieces[0].xy[:, 1].max() == 16.2


def test_paper_rule_portrait_uses_rows():
    land = np.zeros((80, 30))
    land[:, 12:] = 1.0
    sigmoid = np.zeros((80, 30))
    sigmoid[:, 12] = 1.0
    strip = np.stack([sigmoid, np.ones_like(sigmoid)])
    pieces = feed(PaperRules([SIGMOID], MapChannels(("member0:coast", "valid")), 30, 80), strip, 32)
    assert len(pieces) == 1
    np.testing.assert_allclose(pieces[0].xy[:, 0], 12.5, atol=0.01)
    assert pieces[0].xy[0, 1] == 0.5 and pieces[0].xy[-1, 1] == 79.5


def test_ensemble_is_the_weighted_average_of_positions():
    fused = ensemble_positions([np.array([10.0, np.nan, 4.0]), np.array([20.0, 7.0, np.nan])], [3.0, 1.0])
    np.testing.assert_allclose(fused, [12.5, 7.0, 4.0])


def test_orientation_free_finds_an_island_and_two_coasts_per_column():
    rows, cols = np.mgrid[0:120, 0:100]
    island = ((rows - 40) ** 2 + (cols - 50) ** 2 < 15**2).astype(float)
    island[90:] = 1.0  # a mainland coast below the island: two coasts in one column
    strip = softmax_strip(island)
    rule = OrientationFree(SOFTMAX_MAP, use_coast=False, grid_width=100, grid_height=120)
    pieces = feed(rule, strip, 17)  # seams cut through the island
    lines = [shapely.LineString(piece.xy) for piece in pieces]
    rings = [line for line in lines if line.is_ring]
    assert len(rings) == 1 and rings[0].is_simple
    assert rings[0].length == pytest.approx(2 * np.pi * 15, rel=0.05)
    straight = [line for line in lines if not line.is_ring]
    assert len(straight) == 1
    np.testing.assert_allclose(np.asarray(straight[0].coords)[:, 1], 90.0, atol=0.01)


def test_orientation_free_is_unchanged_by_strip_height():
    rows, cols = np.mgrid[0:90, 0:90]
    land = (cols + 0.6 * rows > 60 + 10 * np.sin(rows / 7.0)).astype(float)
    whole = OrientationFree(SOFTMAX_MAP, False, 90, 90)
    whole.add(0, softmax_strip(land))
    expected = whole.finish()
    strips = feed(OrientationFree(SOFTMAX_MAP, False, 90, 90), softmax_strip(land), 7)
    assert len(strips) == len(expected) == 1
    np.testing.assert_allclose(strips[0].xy, expected[0].xy)


@pytest.mark.parametrize(("ridge", "tolerance"), [(22.5, 0.1), (21.8, 0.3), (17.5, 0.1)])
def test_coast_ridge_places_the_line(ridge, tolerance):
    land = np.zeros((40, 40))
    land[:, 20:] = 1.0  # the sea/land contour alone would sit at x = 20.0
    coast = np.exp(-0.5 * ((np.arange(40)[None, :] + 0.5 - ridge) / 1.5) ** 2).repeat(40, 0)
    strip = softmax_strip(land)
    strip[5] = coast
    pieces = feed(OrientationFree(SOFTMAX_MAP, True, 40, 40), strip, 40)
    np.testing.assert_allclose(pieces[0].xy[:, 0], ridge, atol=tolerance)


def test_join_pieces_handles_reversed_parts_and_rings():
    a = Piece(np.array([[0.0, 0.0], [1.0, 0.0]]))
    b = Piece(np.array([[2.0, 0.0], [1.0, 0.0]]))  # reversed relative to a
    c = Piece(np.array([[2.0, 0.0], [3.0, 1.0]]))
    ring = Piece(np.array([[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]))
    joined = join_pieces([b, ring, a, c])
    assert len(joined) == 2
    line = next(piece for piece in joined if len(piece.xy) == 4 and not np.array_equal(piece.xy[0], piece.xy[-1]))
    assert {tuple(line.xy[0]), tuple(line.xy[-1])} == {(0.0, 0.0), (3.0, 1.0)}
