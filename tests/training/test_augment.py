import numpy as np
import pytest

from sar_coastline.training.augment import AugmentConfig, affine, augment, cropout, flip_rotate, mosaic
from sar_coastline.training.labels import LAND, NODATA, SEA


def pattern(seed=0, size=64):
    """An irregular land/sea pattern whose image encodes the labels: land -5 dB, sea -20 dB."""
    rng = np.random.default_rng(seed)
    from scipy import ndimage

    land = ndimage.gaussian_filter(rng.normal(size=(size, size)), 4) > 0
    classes = np.where(land, LAND, SEA).astype(np.uint8)
    db = np.where(land, -5.0, -20.0).astype(np.float32)
    coast = (ndimage.binary_dilation(land) & ~land).astype(np.float32)
    return {"db": db, "classes": classes, "coast": coast}


def assert_aligned(sample):
    valid = sample["classes"] != NODATA
    bright = sample["db"] > -12.5
    agree = (bright == (sample["classes"] == LAND))[valid & np.isfinite(sample["db"])]
    assert agree.mean() > 0.97


def test_flips_and_rotations_keep_alignment():
    for seed in range(8):
        out = flip_rotate(pattern(seed), np.random.default_rng(seed))
        assert_aligned(out)


def test_affine_keeps_alignment_and_marks_outside_as_nodata():
    out = affine(pattern(), np.random.default_rng(3), max_degrees=10, scale_range=(0.85, 0.9))
    assert_aligned(out)
    corner = out["classes"][0, 0]
    assert corner == NODATA and np.isnan(out["db"][0, 0])


def test_full_augmentation_keeps_labels_matching_the_image_side():
    config = AugmentConfig(contrast_range=(1.0, 1.0), gain_db=1.0, gamma_range=(1.0, 1.0), speckle_probability=0,
                           noise_db=0.2, blur_probability=0)
    for seed in range(5):
        out = augment(pattern(seed), np.random.default_rng(seed), config)
        assert_aligned(out)


def test_intensity_changes_the_image_but_not_the_labels():
    sample = pattern()
    out = augment(sample, np.random.default_rng(1), AugmentConfig(flips=False, affine_probability=0,
                                                                  cropout_probability=0))
    np.testing.assert_array_equal(out["classes"], sample["classes"])
    assert not np.allclose(out["db"], sample["db"])


def test_cropout_blanks_image_and_labels_together():
    sample = pattern()
    out = cropout(sample, np.random.default_rng(2))
    blank = np.isnan(out["db"])
    assert (out["classes"][blank] == NODATA).all() and (out["coast"][blank] == 0).all()
    # One rectangle of 10-40 % of each side of the 64 px sample (6 to 25 px), and nothing else changed.
    rows, cols = np.nonzero(blank)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    assert blank[box].all() and blank.sum() == blank[box].size
    assert 6 <= blank[box].shape[0] <= 25 and 6 <= blank[box].shape[1] <= 25
    for key in ("db", "classes", "coast"):
        np.testing.assert_array_equal(out[key][~blank], sample[key][~blank])
        np.testing.assert_array_equal(sample[key], pattern()[key])  # the input is left as it was


@pytest.mark.parametrize("parts", [2, 4, 6])
def test_mosaic_replaces_exactly_the_stated_areas(parts):
    base, donor = pattern(0), pattern(1)
    out, replaced = mosaic(base, [donor], parts, 0.5, np.random.default_rng(parts))
    expected = base["classes"].copy()
    for cell in replaced:
        expected[cell] = donor["classes"][cell]
        np.testing.assert_array_equal(out["db"][cell], donor["db"][cell])
    np.testing.assert_array_equal(out["classes"], expected)
    everything, cells = mosaic(base, [donor], parts, 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(everything["classes"], donor["classes"])
    assert sum((cell[0].stop - cell[0].start) * (cell[1].stop - cell[1].start) for cell in cells) == 64 * 64
