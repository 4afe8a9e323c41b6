import os

import numpy as np
import pytest
import shapely
from osgeo import gdal
from scipy import ndimage

from sar_coastline.core.errors import Cancelled, InputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.imaging.speckle import despeckle
from sar_coastline.core.imaging.threshold import otsu_threshold
from sar_coastline.core.io.georef import pixel_to_map
from sar_coastline.core.io.raster_reader import open_scene
from sar_coastline.core.io.scale import DECIBEL
from sar_coastline.core.io.scene import Scene
from sar_coastline.synthetic.scenes import generate_scene, write_scene
from sar_coastline.training.labels import (
    COAST_SIGMA_PX,
    LAND,
    LINE_END_GAP_PX,
    NODATA,
    SEA,
    SEA_DB_THRESHOLD,
    LabelReport,
    LinePixels,
    label_raster,
    label_strips,
)

GT = (0.0, 1.0, 0.0, 100.0, 0.0, -1.0)  # 1 m pixels: map x = col, map y = 100 - row


def db_scene(db: np.ndarray) -> Scene:
    return Scene(path="", band=1, width=db.shape[1], height=db.shape[0], geotransform=GT, crs_wkt="", nodata=None,
                 data_type="Float32", interpretation=DECIBEL, name="test", array=db.astype(np.float32))


def streamed(db, lines, strip_height=7, **kwargs):
    """Classes, coast and report of an in-memory dB scene, in strips of a few rows."""
    report = LabelReport()
    strips = list(label_strips(db_scene(db), lines, report, strip_height=strip_height, **kwargs))
    return np.concatenate([s[1] for s in strips]), np.concatenate([s[2] for s in strips]), report


def test_vertical_line_splits_dark_sea_from_bright_land():
    db = np.full((100, 100), -22.0)
    db[:, 60:] = -7.0
    line = np.array([[60.0, 100.0], [60.0, 0.0]])  # x = 60 from top to bottom
    classes, coast, report = streamed(db, [line])
    assert (classes[:, :59] == SEA).all() and (classes[:, 61:] == LAND).all()
    assert coast[:, 60].min() == 255
    expected = 255 * np.exp(-0.5 * (4.0 / COAST_SIGMA_PX) ** 2)
    assert abs(int(coast[50, 64]) - expected) <= 1
    assert coast[:, :50].max() == 0
    assert "2 region(s); 1 with a median" in report.notes[0]


def test_land_polygons_decide_the_sides_whatever_the_brightness():
    db = np.full((50, 50), -22.0)  # dark everywhere: the brightness rule would say sea
    polygon = shapely.box(20.0, 0.0, 50.0, 100.0)
    classes, _coast, report = streamed(db, [np.array([[20.0, 100.0], [20.0, 50.0]])], land_polygons=[polygon])
    assert (classes[:, 21:] == LAND).all() and (classes[:, :19] == SEA).all()
    assert "polygons" in report.notes[0]


def test_nodata_and_a_scene_without_coast():
    db = np.full((40, 40), -6.0)
    db[:10] = np.nan
    classes, coast, report = streamed(db, [])
    assert (classes[:10] == NODATA).all() and (classes[10:] == LAND).all()
    assert coast.max() == 0
    assert len(report.warnings) == 1 and "labelled land" in report.warnings[0]


def test_lines_that_do_not_cut_the_scene_are_refused_without_land_polygons():
    db = np.full((60, 60), -22.0)
    db[:, 30:] = -7.0
    line_ending_inside = np.array([[30.0, 100.0], [30.0, 60.0]])  # from the top edge to mid-scene
    with pytest.raises(InputError, match="do not cut the scene.*Give land polygons, or lines that cross"):
        streamed(db, [line_ending_inside])
    polygon = shapely.box(30.0, 0.0, 60.0, 100.0)
    classes, _coast, report = streamed(db, [line_ending_inside], land_polygons=[polygon])  # polygons decide: fine
    assert (classes[:, 31:] == LAND).all() and not report.warnings


def test_island_ring_is_land_inside():
    rows, cols = np.mgrid[0:80, 0:80]
    db = np.where((rows - 40) ** 2 + (cols - 40) ** 2 < 15**2, -5.0, -20.0)
    angles = np.linspace(0, 2 * np.pi, 200)
    ring = np.column_stack([40 + 15 * np.cos(angles), 100 - (40 + 15 * np.sin(angles))])
    classes, _coast, report = streamed(db, [ring], strip_height=4)  # the island spans many strips
    assert classes[40, 40] == LAND and classes[5, 5] == SEA
    assert "2 region(s); 1 with a median" in report.notes[0]


# The whole-scene implementation the streamed labels must equal.
def reference_labels(db, geotransform, lines, land_polygons=None, land_mask=None):
    valid = np.isfinite(db)
    # Which pixels a line passes through is not what streaming changes: the whole mask at once is the reference.
    barrier = LinePixels(lines, geotransform, db.shape[1], db.shape[0]).mask(0, db.shape[0])
    if land_mask is not None:
        land = land_mask
    elif land_polygons:
        rows, cols = np.mgrid[0:db.shape[0], 0:db.shape[1]]
        xs = geotransform[0] + (cols + 0.5) * geotransform[1] + (rows + 0.5) * geotransform[2]
        ys = geotransform[3] + (cols + 0.5) * geotransform[4] + (rows + 0.5) * geotransform[5]
        land = shapely.contains_xy(shapely.union_all(land_polygons), xs, ys)
    else:
        frame = ndimage.binary_dilation(~valid, iterations=LINE_END_GAP_PX)  # lines ending near no-data or
        frame[:LINE_END_GAP_PX] = frame[-LINE_END_GAP_PX:] = True  # the border still cut the scene there
        frame[:, :LINE_END_GAP_PX] = frame[:, -LINE_END_GAP_PX:] = True
        regions, count = ndimage.label(valid & ~barrier & ~frame)
        medians = np.asarray(ndimage.median(np.nan_to_num(db, nan=-99.0), regions, index=np.arange(1, count + 1)))
        threshold = otsu_threshold(despeckle(db, 2.0)) if count > 1 else SEA_DB_THRESHOLD
        land = np.concatenate([[False], medians >= threshold])[regions]
        _distance, (nearest_rows, nearest_cols) = ndimage.distance_transform_edt(regions == 0, return_indices=True)
        land = np.where(regions == 0, land[nearest_rows, nearest_cols], land)
    classes = np.where(valid, np.where(land, LAND, SEA), NODATA).astype(np.uint8)
    coast = np.exp(-0.5 * (ndimage.distance_transform_edt(~barrier) / COAST_SIGMA_PX) ** 2)
    coast[~valid] = 0.0
    return classes, np.round(coast * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A rocky scene whose lines cut it into 7 regions, with its label raster."""
    scene = generate_scene(384, 384, 1, "rocky")
    return scene, write_scene(scene, tmp_path_factory.mktemp("generated"), "rocky_1")


def read_bands(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray(), dataset.GetRasterBand(2).ReadAsArray()


@pytest.mark.parametrize("strip_height", [5, 48])  # below and above the halos of rows
@pytest.mark.parametrize("rule", ["label raster", "polygons", "regions"])
def test_streamed_labels_equal_the_whole_scene_reference(generated, tmp_path, rule, strip_height):
    synthetic, paths = generated
    scene = open_scene(paths.image)
    gt = scene.geotransform
    polygons = land_path = land_mask = None
    if rule == "polygons":
        corners = np.array(pixel_to_map(gt, np.array([30.0, 300.0]), np.array([20.0, 250.0]))).T
        polygons = [shapely.box(*corners[0], *corners[1]), shapely.Point(*pixel_to_map(gt, 200.0, 300.0)).buffer(
            60 * gt[1])]
    elif rule == "label raster":
        land_path, land_mask = str(paths.labels), synthetic.labels == LAND
    labels = label_raster(scene, synthetic.truth_lines, tmp_path, polygons, land_path, strip_height=strip_height)
    classes, coast = read_bands(labels.path)
    expected_classes, expected_coast = reference_labels(scene.read_db(), gt, synthetic.truth_lines, polygons,
                                                        land_mask)
    assert (expected_classes == LAND).any() and (expected_classes == SEA).any() and expected_coast.max() == 255
    assert np.count_nonzero(classes != expected_classes) <= 5  # a tie between nearest region pixels on a line
    assert np.abs(coast.astype(int) - expected_coast).max() <= 1
    if rule == "regions":
        assert "7 region(s)" in labels.report.notes[0]


def test_label_raster_is_reused_until_an_input_changes(generated, tmp_path):
    synthetic, paths = generated
    scene = open_scene(paths.image)
    first = label_raster(scene, synthetic.truth_lines, tmp_path, land_path=str(paths.labels))
    made = first.path.stat().st_mtime_ns
    again = label_raster(scene, synthetic.truth_lines, tmp_path, land_path=str(paths.labels))
    assert again.path == first.path and again.path.stat().st_mtime_ns == made and again.report == first.report
    other = label_raster(scene, synthetic.truth_lines[1:], tmp_path, land_path=str(paths.labels))
    assert other.path != first.path  # other lines: other labels
    os.utime(first.path, ns=(0, 0))  # older than the image: made again
    label_raster(scene, synthetic.truth_lines, tmp_path, land_path=str(paths.labels))
    assert first.path.stat().st_mtime_ns > 0


def test_cancel_is_checked_per_strip_and_leaves_no_label_raster(generated, tmp_path):
    synthetic, paths = generated
    asked = []

    def cancel_at_the_fifth_check():
        asked.append(1)
        return len(asked) == 5

    with pytest.raises(Cancelled):
        label_raster(open_scene(paths.image), synthetic.truth_lines, tmp_path, hooks=RunHooks(
            cancel=cancel_at_the_fifth_check), strip_height=64)
    assert len(asked) == 5 and list(tmp_path.iterdir()) == []
