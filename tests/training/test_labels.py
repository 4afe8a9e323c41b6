import numpy as np
import pytest
import shapely

from sar_coastline.core.errors import InputError
from sar_coastline.training.labels import COAST_SIGMA_PX, LAND, NODATA, SEA, rasterize_labels

GT = (0.0, 1.0, 0.0, 100.0, 0.0, -1.0)  # 1 m pixels: map x = col, map y = 100 - row


def test_vertical_line_splits_dark_sea_from_bright_land():
    db = np.full((100, 100), -22.0)
    db[:, 60:] = -7.0
    line = np.array([[60.0, 100.0], [60.0, 0.0]])  # x = 60 from top to bottom
    labels = rasterize_labels(db, GT, [line])
    assert (labels.classes[:, :59] == SEA).all() and (labels.classes[:, 61:] == LAND).all()
    assert labels.coast[:, 60].min() == 255
    expected = 255 * np.exp(-0.5 * (4.0 / COAST_SIGMA_PX) ** 2)
    assert abs(int(labels.coast[50, 64]) - expected) <= 1
    assert labels.coast[:, :50].max() == 0
    assert "region(s)" in labels.notes[0]


def test_land_polygons_decide_the_sides_whatever_the_brightness():
    db = np.full((50, 50), -22.0)  # dark everywhere: the brightness rule would say sea
    polygon = shapely.box(20.0, 0.0, 50.0, 100.0)
    labels = rasterize_labels(db, GT, [np.array([[20.0, 100.0], [20.0, 50.0]])], land_polygons=[polygon])
    assert (labels.classes[:, 21:] == LAND).all() and (labels.classes[:, :19] == SEA).all()
    assert "polygons" in labels.notes[0]


def test_nodata_and_a_scene_without_coast():
    db = np.full((40, 40), -6.0)
    db[:10] = np.nan
    labels = rasterize_labels(db, GT, [])
    assert (labels.classes[:10] == NODATA).all() and (labels.classes[10:] == LAND).all()
    assert labels.coast.max() == 0
    assert len(labels.warnings) == 1 and "labelled land" in labels.warnings[0]


def test_lines_that_do_not_cut_the_scene_are_refused_without_land_polygons():
    db = np.full((60, 60), -22.0)
    db[:, 30:] = -7.0
    line_ending_inside = np.array([[30.0, 100.0], [30.0, 60.0]])  # from the top edge to mid-scene
    with pytest.raises(InputError, match="do not cut the scene.*Give land polygons, or lines that cross"):
        rasterize_labels(db, GT, [line_ending_inside])
    polygon = shapely.box(30.0, 0.0, 60.0, 100.0)
    labels = rasterize_labels(db, GT, [line_ending_inside], land_polygons=[polygon])  # polygons decide: fine
    assert (labels.classes[:, 31:] == LAND).all() and not labels.warnings


def test_island_ring_is_land_inside():
    rows, cols = np.mgrid[0:80, 0:80]
    db = np.where((rows - 40) ** 2 + (cols - 40) ** 2 < 15**2, -5.0, -20.0)
    angles = np.linspace(0, 2 * np.pi, 200)
    ring = np.column_stack([40 + 15 * np.cos(angles), 100 - (40 + 15 * np.sin(angles))])
    labels = rasterize_labels(db, GT, [ring])
    assert labels.classes[40, 40] == LAND and labels.classes[5, 5] == SEA
