"""Training scenes read their labels from the label raster in windows, like the image."""

import numpy as np
import pytest
from osgeo import gdal

from sar_coastline.core.io.raster_reader import open_scene
from sar_coastline.synthetic.scenes import generate_scene, write_scene
from sar_coastline.training import dataset
from sar_coastline.training.dataset import TrainScene, read_crop
from sar_coastline.training.labels import NODATA, label_raster


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """A generated scene, its label raster, and the raster's two bands read whole (fine at this size)."""
    folder = tmp_path_factory.mktemp("labelled")
    synthetic = generate_scene(384, 384, 2, "rocky")
    paths = write_scene(synthetic, folder, "rocky_2")
    scene = open_scene(paths.image)
    path = label_raster(scene, synthetic.truth_lines, folder, land_path=str(paths.labels)).path
    bands = gdal.Open(str(path)).ReadAsArray()
    return scene, str(path), bands[0], bands[1]


def test_crops_take_their_labels_from_the_window_of_the_label_raster(labelled):
    scene, path, classes, coast = labelled
    train_scene = TrainScene(scene, path, rows=(0, 300))
    side, model_side, pad = 64, 32, 64
    padded_classes = np.pad(classes, pad, constant_values=NODATA)
    padded_coast = np.pad(coast, pad).astype(np.float32) / 255.0
    for centre_row, centre_col in ((10, 370), (200, 150)):  # past the top and right edges; inside
        crop = read_crop(train_scene, centre_row, centre_col, side, model_side)
        top, left = centre_row - side // 2 + pad, centre_col - side // 2 + pad
        centres = ((np.arange(model_side) + 0.5) * side / model_side).astype(int)
        expected = padded_classes[np.ix_(top + centres, left + centres)]
        expected[~np.isfinite(crop["db"])] = NODATA
        np.testing.assert_array_equal(crop["classes"], expected)
        window = padded_coast[top:top + side, left:left + side]
        np.testing.assert_array_equal(crop["coast"], window.reshape(model_side, 2, model_side, 2).max(axis=(1, 3)))


def test_coast_pixels_are_a_bounded_even_sample_of_the_line_in_the_training_rows(labelled, monkeypatch):
    scene, path, _classes, coast = labelled
    line = np.argwhere(coast[:300] > 200)
    assert len(line) > 400
    np.testing.assert_array_equal(TrainScene(scene, path, rows=(0, 300)).coast_pixels, line)
    monkeypatch.setattr(dataset, "COAST_SAMPLE", 100)
    monkeypatch.setattr(dataset, "strip_height_for", lambda width: 16)  # thinned over many strips
    stride = 1
    while len(line[::stride]) > 200:
        stride *= 2
    np.testing.assert_array_equal(TrainScene(scene, path, rows=(0, 300)).coast_pixels, line[::stride])
