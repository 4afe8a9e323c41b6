import json
import os

import numpy as np
import pytest
from osgeo import ogr, osr

from sar_coastline.core.errors import OutputError
from sar_coastline.core.io.vectors import POINT, Feature, Layer, write_layers
from sar_coastline.core.lines.vectorize import Coastline, KeepMask, write_lines


def utm_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    return srs.ExportToWkt()


LINES = [Coastline(np.array([[500_000.0, 6_000_000.0], [500_030.0, 6_000_040.0]]),
                   {"scene": "a", "confidence": 0.75, "uncertainty_m": None}),
         Coastline(np.array([[500_100.0, 6_000_000.0], [500_100.0, 6_000_090.0], [500_130.0, 6_000_090.0]]),
                   {"scene": "b", "confidence": 0.5, "uncertainty_m": 4.5})]


def test_geopackage_with_a_line_and_a_point_layer(tmp_path):
    points = [Feature(np.array([500_000.0 + 10 * index, 6_000_000.0]), {"point_id": index, "scene": "a"})
              for index in range(3)]
    path = tmp_path / "truth.gpkg"
    assert write_layers(path, [Layer("coastline", LINES), Layer("points", points, POINT)], utm_wkt()) == str(path)
    dataset = ogr.Open(str(path))
    lines = dataset.GetLayerByName("coastline")
    assert lines.GetGeomType() == ogr.wkbLineString and lines.GetFeatureCount() == 2
    assert lines.GetSpatialRef().GetAuthorityCode(None) == "32633"
    first = lines.GetNextFeature()
    assert first.GetField("scene") == "a" and first.GetField("confidence") == 0.75
    assert not first.IsFieldSetAndNotNull("uncertainty_m")
    assert first.GetGeometryRef().GetPoints() == [tuple(point) for point in LINES[0].coords]
    assert lines.GetNextFeature().GetField("uncertainty_m") == 4.5
    layer = dataset.GetLayerByName("points")
    assert layer.GetGeomType() == ogr.wkbPoint and layer.GetFeatureCount() == 3
    written = [(feature.GetField("point_id"), feature.GetGeometryRef().GetX()) for feature in layer]
    assert written == [(0, 500_000.0), (1, 500_010.0), (2, 500_020.0)]
    assert sorted(os.listdir(tmp_path)) == ["truth.gpkg"]  # no temporary file left beside it


def test_geojson_lines_with_their_attributes(tmp_path):
    path = write_lines(str(tmp_path / "coast.geojson"), LINES, utm_wkt())
    features = json.loads(open(path).read())["features"]
    assert [feature["properties"]["scene"] for feature in features] == ["a", "b"]
    assert features[1]["geometry"] == {"type": "LineString", "coordinates": LINES[1].coords.tolist()}


def test_shapefile_is_moved_into_place_with_its_side_files(tmp_path):
    write_lines(str(tmp_path / "coast.shp"), LINES, utm_wkt())
    assert {"coast.shp", "coast.shx", "coast.dbf", "coast.prj"} <= set(os.listdir(tmp_path))
    assert ogr.Open(str(tmp_path / "coast.shp")).GetLayer(0).GetFeatureCount() == 2


def test_an_existing_file_is_replaced(tmp_path):
    path = str(tmp_path / "coast.gpkg")
    write_lines(path, LINES, utm_wkt())
    write_lines(path, LINES[:1], utm_wkt())
    assert ogr.Open(path).GetLayer(0).GetFeatureCount() == 1


def test_unwritable_folder_gives_output_error_and_no_partial_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root)")
        with pytest.raises(OutputError, match="Cannot write"):
            write_lines(str(folder / "coast.gpkg"), LINES, utm_wkt())
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_failed_write_leaves_no_partial_file(tmp_path):
    with pytest.raises(OutputError, match="Cannot write"):
        write_lines(str(tmp_path / "missing" / "coast.gpkg"), LINES, utm_wkt())
    with pytest.raises(OutputError, match="Cannot write"):  # OGR fails on the second layer, after the first
        write_layers(tmp_path / "twice.gpkg", [Layer("coastline", LINES), Layer("coastline", LINES)], utm_wkt())
    (tmp_path / "coast.gpkg").mkdir()  # the final move fails: a folder holds the name
    (tmp_path / "coast.gpkg" / "keep.txt").write_text("")
    with pytest.raises(OutputError, match="Cannot write"):
        write_lines(str(tmp_path / "coast.gpkg"), LINES, utm_wkt())
    assert sorted(os.listdir(tmp_path)) == ["coast.gpkg"] and os.listdir(tmp_path / "coast.gpkg") == ["keep.txt"]


def test_refuses_unknown_formats_and_several_layers_in_one_layer_formats(tmp_path):
    with pytest.raises(OutputError, match=".gpkg"):
        write_lines(str(tmp_path / "coast.kml"), LINES, utm_wkt())
    with pytest.raises(OutputError, match="holds one"):
        write_layers(tmp_path / "coast.geojson", [Layer("a", LINES), Layer("b", LINES)], utm_wkt())
    assert os.listdir(tmp_path) == []


def test_keep_mask_margin_reaches_across_strip_seams():
    valid = np.ones((40, 30), np.float32)
    valid[20, 10] = 0.0  # a no-data cell on the first row of the second strip
    whole, strips = KeepMask(2, 1, 30, 40), KeepMask(2, 1, 30, 40)
    whole.add(valid)
    strips.add(valid[:20])
    strips.add(valid[20:])
    rows, cols = np.mgrid[0:40, 0:30]
    centres = np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])
    kept = strips.sample(centres).reshape(40, 30)
    np.testing.assert_array_equal(kept, whole.sample(centres).reshape(40, 30))
    assert not kept[18:23, 8:13].any() and kept[17, 10] and kept[20, 13]  # within 2 cells of no-data: cut
    assert not kept[:2].any() and not kept[-2:].any() and not kept[:, :2].any() and not kept[:, -2:].any()
    assert kept[2:-2, 2:-2].sum() == 36 * 26 - 25
