"""Any georeferencing in: the same scene as projected, EPSG:4326, GCP-only and Sentinel-1 SAFE gives the same lines."""

import numpy as np
import productdata
import pytest
from osgeo import gdal, osr
from scipy import ndimage

from sar_coastline.core.config import ExtractConfig
from sar_coastline.core.errors import InputError
from sar_coastline.core.evaluation.metric import evaluate, sample_along
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.io import georef
from sar_coastline.core.io.georef import map_to_pixel
from sar_coastline.core.io.raster_reader import open_scene
from sar_coastline.core.pipeline.extract import extract

PIXEL = 10.0
# Every water boundary: the sea-only rule's pond-or-sea decision can flip on a resampled image (a 4326 export is
# resampled twice), which is not the georeferencing under test.
CONFIG = ExtractConfig(method="classical", water="all")


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    """The scene in every form, and the lines of its projected form (the reference)."""
    folder = tmp_path_factory.mktemp("forms")
    synthetic = productdata.scene(pixel_size=PIXEL)
    # Compared away from no-data and the border (8 px): there resampling moves where lines are cut, not where they lie.
    comparable = ndimage.binary_erosion(synthetic.dn > 0, iterations=8, border_value=0)
    projected = productdata.write_projected(folder / "projected.tif", synthetic)
    paths = {"projected": projected,
             "epsg4326": productdata.write_geographic(folder / "geographic.tif", projected),
             "gcp_only": productdata.write_gcp_only(folder / "gcp_only.tif", synthetic),
             "safe": productdata.write_safe(folder, synthetic)}
    reference = extract(str(projected), CONFIG)
    assert reference.lines, "the projected scene must give lines for the comparison to mean anything"
    return paths, reference, comparable


def _comparable_points(lines, reference, comparable):
    points = sample_along(lines, PIXEL)
    cols, rows = map_to_pixel(reference.scene.geotransform, points[:, 0], points[:, 1])
    cols, rows = np.floor(cols).astype(int), np.floor(rows).astype(int)
    inside = (cols >= 0) & (cols < comparable.shape[1]) & (rows >= 0) & (rows < comparable.shape[0])
    keep = np.zeros(len(points), bool)
    keep[inside] = comparable[rows[inside], cols[inside]]
    return points[keep]


@pytest.mark.parametrize("form", ["epsg4326", "gcp_only", "safe"])
def test_every_form_gives_the_projected_lines_within_a_pixel(forms, form):
    paths, reference, comparable = forms
    hooks = RunHooks()
    result = extract(str(paths[form]), CONFIG, hooks)
    assert osr.SpatialReference(wkt=result.scene.crs_wkt).GetAuthorityCode(None) == "32633"  # the local UTM zone
    assert any("warped view" in note for note in hooks.notes)
    predicted = [line.coords for line in result.lines]
    truth = [line.coords for line in reference.lines]
    score, _ = evaluate(predicted, truth, _comparable_points(truth, reference, comparable))
    back, _ = evaluate(truth, predicted, _comparable_points(predicted, reference, comparable))
    assert score.n_points > 500 and back.n_points > 500
    assert score.score < PIXEL and back.score < PIXEL, (score, back)


def test_output_crs_gives_lines_in_that_crs(forms):
    paths, reference, _ = forms
    result = extract(str(paths["projected"]), ExtractConfig(method="classical", water="all", output_crs="EPSG:3035"))
    assert osr.SpatialReference(wkt=result.scene.crs_wkt).GetAuthorityCode(None) == "3035"
    from sar_coastline.core.io.vectors import reproject

    back = reproject([line.coords for line in result.lines], result.scene.crs_wkt, reference.scene.crs_wkt)
    score, _ = evaluate(back, [line.coords for line in reference.lines])
    assert score.score < PIXEL
    with pytest.raises(InputError, match="not projected"):
        extract(str(paths["projected"]), ExtractConfig(method="classical", output_crs="EPSG:4326"))


def test_warped_view_streams_windows_and_is_self_contained(forms):
    paths, _, _ = forms
    scene = open_scene(paths["gcp_only"])
    assert scene.path.lstrip().startswith("<VRTDataset")  # GDAL warps each window read; no copy of the scene
    full = scene.read_db()
    np.testing.assert_array_equal(scene.read_db(100, 120, 50, 40), full[120:160, 100:150])
    assert 9.9 < scene.pixel_size < 10.1


def _dataset(path, geotransform=None, epsg=None, gcps=False):
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 100, 100, 1, gdal.GDT_UInt16)
    if geotransform:
        dataset.SetGeoTransform(geotransform)
    if epsg:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        dataset.SetProjection(srs.ExportToWkt())
    if gcps:
        dataset.SetGCPs([gdal.GCP(14 + i * 1e-3, 55 + j * 1e-3, 0, i * 99, j * 99) for i in (0, 1) for j in (0, 1)],
                        "")
    dataset.GetRasterBand(1).WriteArray(np.full((100, 100), 500, np.uint16))
    dataset = None
    return str(path)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "no georeferencing: no geotransform, no GCPs"),
    ({"epsg": 32633}, "has a CRS but no geotransform"),
    ({"geotransform": (500000.0, 3.0, 0.0, 6e6, 0.0, -3.0)}, "no coordinate reference system"),
    ({"gcps": True}, "GCPs but no CRS"),
])
def test_missing_georeferencing_is_refused_saying_what_is_missing(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        open_scene(_dataset(tmp_path / "bad.tif", **kwargs))


def test_utm_zone_of_a_point():
    assert georef.utm_epsg(14.9, 55.0) == 32633
    assert georef.utm_epsg(-70.5, -33.4) == 32719
    assert georef.utm_epsg(179.9, 10) == 32660


def test_outputs_carry_their_crs_and_replace_a_whole_shapefile(tmp_path):
    from osgeo import ogr

    from sar_coastline.core.errors import OutputError
    from sar_coastline.core.lines.vectorize import Coastline, write_lines

    lines = [Coastline(np.array([[500000.0, 6e6], [500100.0, 6e6]]), {"scene": "a"})]
    utm = georef.srs_of("EPSG:32633").ExportToWkt()
    geojson = write_lines(str(tmp_path / "coast.geojson"), lines, utm)
    dataset = ogr.Open(geojson)
    assert dataset.GetLayer(0).GetSpatialRef().GetAuthorityCode(None) == "32633"
    dataset = None
    custom = georef.srs_of("+proj=tmerc +lon_0=14.5 +k=0.9996 +x_0=500000 +datum=WGS84 +units=m").ExportToWkt()
    with pytest.raises(OutputError, match="EPSG code"):
        write_lines(str(tmp_path / "custom.geojson"), lines, custom)
    assert not list(tmp_path.glob("custom*")) and not list(tmp_path.glob(".partial*"))
    (tmp_path / "coast.qix").write_bytes(b"an index of an older coast.shp")
    write_lines(str(tmp_path / "coast.shp"), lines, utm)
    assert not (tmp_path / "coast.qix").exists()  # a stale index would not match the new file
    assert ogr.Open(str(tmp_path / "coast.shp")).GetLayer(0).GetFeatureCount() == 1


def test_rpc_raster_is_warped_to_utm(tmp_path):
    from testdata import two_halves_dn

    dn = two_halves_dn(200, 200, coast_col=100)
    path = tmp_path / "rpc.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 200, 200, 1, gdal.GDT_UInt16)
    dataset.GetRasterBand(1).WriteArray(dn)
    step = 1e-4  # degrees per pixel: rows go south, columns east (an affine RPC)
    zeros = " ".join(["0"] * 16)
    dataset.SetMetadata({"LINE_OFF": "100", "SAMP_OFF": "100", "LAT_OFF": "55.0", "LONG_OFF": "15.0",
                         "HEIGHT_OFF": "0", "LINE_SCALE": "100", "SAMP_SCALE": "100", "LAT_SCALE": str(100 * step),
                         "LONG_SCALE": str(100 * step), "HEIGHT_SCALE": "1",
                         "LINE_NUM_COEFF": f"0 0 -1 0 {zeros}", "LINE_DEN_COEFF": f"1 0 0 0 {zeros}",
                         "SAMP_NUM_COEFF": f"0 1 0 0 {zeros}", "SAMP_DEN_COEFF": f"1 0 0 0 {zeros}"}, "RPC")
    dataset = None
    hooks = RunHooks()
    result = extract(str(path), ExtractConfig(method="classical", water="all"), hooks)
    assert any("placed by RPCs" in note for note in hooks.notes)
    assert "UTM zone 33N" in result.scene.crs_wkt
    assert 6.0 < result.scene.pixel_size < 11.2  # 1e-4 degrees at 55 N: 6.4 m by 11.1 m
    assert len(result.lines) == 1 and result.lines[0].length_m > 0.8 * 200 * 11.1
