import numpy as np
import pytest
from scipy import ndimage

from sar_coastline.core.inference.tiling import StripMerger, axis_positions, blend_window, tile_grid


@pytest.mark.parametrize(("length", "side", "overlap"), [(1000, 256, 0.5), (1001, 256, 0.25), (257, 256, 0.0),
                                                         (5000, 1536, 0.5), (100, 256, 0.5)])
def test_axis_positions_cover_every_pixel_with_the_overlap(length, side, overlap):
    starts = axis_positions(length, side, overlap)
    assert starts[0] == 0 and starts[-1] + side >= length
    steps = np.diff(starts)
    assert (steps <= side * (1 - overlap) + 1).all()


def test_grid_covers_each_scale_and_is_ordered_by_row():
    tiles = tile_grid(3000, 1700, [1024, 1536], 0.5, align=2)
    assert [tile.row for tile in tiles] == sorted(tile.row for tile in tiles)
    for side in (1024, 1536):
        covered = np.zeros((1700, 3000), bool)
        for tile in (tile for tile in tiles if tile.side == side):
            assert tile.row % 2 == 0 and tile.col % 2 == 0
            covered[tile.row:tile.row + side, tile.col:tile.col + side] = True
        assert covered.all()


def test_small_scene_gets_one_padded_tile_per_scale():
    assert tile_grid(300, 200, [512], 0.5) == tile_grid(300, 200, [512], 0.9)
    assert len(tile_grid(300, 200, [512], 0.5)) == 1


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(100, 100, [64], 1.0)


def merge(width, height, sides, overlap, stride, sigma, value_of, strip_rows=64):
    merger = StripMerger(width, height, channels=2, stride=stride, sigma=sigma, strip_rows=strip_rows)
    tiles = tile_grid(width, height, sides, overlap, align=stride)
    strips = []
    for index, tile in enumerate(tiles):
        size = tile.side // stride
        output = value_of(tile, size)
        merger.add(tile.col // stride, tile.row // stride, output, blend_window(size))
        next_row = tiles[index + 1].row // stride if index + 1 < len(tiles) else merger.height
        strips.extend(merger.ready(next_row))
    strips.extend(merger.finish())
    rows = [first for first, _strip in strips]
    assert rows == sorted(rows) and rows[0] == 0
    return np.concatenate([strip for _first, strip in strips], axis=1)


def test_constant_predictor_gives_a_constant_map_without_seams():
    merged = merge(700, 500, [128, 192], 0.5, 2, 1.5, lambda tile, size: np.full((2, size, size), [[[0.3]], [[0.7]]]))
    assert merged.shape == (2, 250, 350)
    np.testing.assert_allclose(merged[0], 0.3, atol=1e-6)
    np.testing.assert_allclose(merged[1], 0.7, atol=1e-6)


def test_streamed_map_equals_the_whole_scene_computation():
    rng = np.random.default_rng(0)
    truth = rng.random((2, 300, 400)).astype(np.float32)

    def crop(tile, size):  # a perfect predictor: the tile's part of one fixed field, padded past the scene
        padded = np.zeros((2, 300 + 256, 400 + 256), np.float32)
        padded[:, :300, :400] = truth
        return padded[:, tile.row:tile.row + size, tile.col:tile.col + size]

    merged = merge(400, 300, [96, 128], 0.5, 1, 2.0, crop, strip_rows=40)
    expected = np.stack([ndimage.gaussian_filter(channel, 2.0, mode="nearest") for channel in truth])
    np.testing.assert_allclose(merged, expected, atol=1e-5)


def test_memory_stays_bounded_by_tile_rows():
    merger = StripMerger(64, 100_000, channels=1, strip_rows=32)
    peak = 0
    for row in range(0, 100_000 - 64 + 1, 32):
        merger.add(0, row, np.ones((1, 64, 64), np.float32), np.ones((64, 64), np.float32))
        for _strip in merger.ready(row + 32):
            pass
        peak = max(peak, merger.weights.shape[0], merger.buffered_rows)
    assert peak <= 3 * 64


def test_buffers_are_allocated_once_and_strips_narrow_on_wide_scenes():
    merger = StripMerger(64, 10_016, channels=1, strip_rows=32, sigma=1.0, tile_rows=64)
    buffers = {(merger.sums.data_ptr(), merger.sums.shape)}
    strips = []
    for row in range(0, 10_016 - 64 + 1, 32):  # tiles cover every row
        merger.add(0, row, np.ones((1, 64, 64), np.float32), np.ones((64, 64), np.float32))
        strips.extend(merger.ready(row + 32))
        buffers.add((merger.sums.data_ptr(), merger.sums.shape))
    strips.extend(merger.finish())
    assert buffers == {(merger.sums.data_ptr(), (1, 64 + 32 + 2 * 4, 64))}  # never re-made nor grown
    np.testing.assert_allclose(np.concatenate([strip for _first, strip in strips], axis=1), 1.0, atol=1e-6)
    assert StripMerger(512, 100, channels=1).strip_rows == 256
    assert StripMerger(40_000, 100, channels=1).strip_rows == 52
