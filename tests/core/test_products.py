"""Sensor products (Sentinel-1 SAFE, ALOS-2), the SCALE of values, and inputs that deserve a warning."""

import numpy as np
import productdata
import pytest

from sar_coastline.core.config import ExtractConfig
from sar_coastline.core.errors import InputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.io import readers, scale
from sar_coastline.core.io.scene import array_scene, scene_preview
from sar_coastline.core.pipeline.extract import extract
from testdata import two_halves_dn, write_raster

OPEN = readers.open_scene


def _assert_close(db, expected):
    difference = np.abs(db - expected)[np.isfinite(expected)]
    assert np.median(difference) < 0.01 and np.percentile(difference, 98) < 0.1, np.percentile(difference, [50, 98])


@pytest.fixture(scope="module")
def synthetic():
    return productdata.scene(size=200, seed=3)


def test_safe_folder_zip_and_manifest_read_the_same_sigma0_and_date(synthetic, tmp_path):
    safe = productdata.write_safe(tmp_path, synthetic)
    scenes = [OPEN(str(safe)), OPEN(str(safe / "manifest.safe")), OPEN(str(productdata.zip_safe(safe)))]
    expected = 20 * np.log10(np.where(synthetic.dn > 0, synthetic.dn, np.nan)) - 83.0  # the LUT is CF -83 dB
    for scene in scenes:
        assert scene.acquisition_date == productdata.START
        assert scene.name.endswith("_VV") and scene.name.startswith("S1A_IW_GRDH")
        # the GCP grid is exact, so the warped view lands on the source pixels (to GDAL's 1/8 px approximation)
        _assert_close(scene.read_db(20, 20, 100, 100), expected[20:120, 20:120])


def test_safe_calibration_follows_the_lut_across_the_swath(synthetic, tmp_path):
    low, high = 300.0, 600.0  # A at the first and the last column
    scene = OPEN(str(productdata.write_safe(tmp_path, synthetic, lut=(low, high))))
    cols = np.arange(scene.width)
    lut = low + (high - low) * np.clip(cols / (synthetic.dn.shape[1] - 1), 0, 1)
    expected = 20 * np.log10(np.where(synthetic.dn > 0, synthetic.dn, np.nan)) - 20 * np.log10(lut)
    _assert_close(scene.read_db(0, 50, scene.width, 10), expected[50:60])
    assert "calibration table (-55.6 to -49.5 dB)" in scene.describe_interpretation()


def test_dual_pol_safe_takes_the_clearer_polarisation_unless_told(synthetic, tmp_path):
    rng = np.random.default_rng(0)
    flat = np.clip(rng.normal(900, 300, synthetic.dn.shape), 1, None).astype(np.uint16)  # no sea/land contrast
    safe = productdata.write_safe(tmp_path, synthetic, {"VV": flat, "VH": synthetic.dn})
    scene = OPEN(str(safe))
    assert scene.name.endswith("_VH")
    assert "two polarisations and no POLARISATION given: VH chosen" in scene.describe_interpretation()
    assert OPEN(str(safe), readers.ReadOptions(polarisation="vv")).name.endswith("_VV")
    with pytest.raises(InputError, match="has no HH polarisation. It has: "):
        OPEN(str(safe), readers.ReadOptions(polarisation="HH"))


def test_missing_safe_parts_are_refused_clearly(tmp_path):
    (tmp_path / "empty.SAFE").mkdir()
    with pytest.raises(InputError, match="has no manifest.safe"):
        OPEN(str(tmp_path / "empty.SAFE"))
    (tmp_path / "S1_broken.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        OPEN(str(tmp_path / "S1_broken.zip"))


def test_alos2_image_date_from_its_name_and_calibration_factor(tmp_path):
    name = "IMG-HH-ALOS2014410740-140829-WBDR1.5GUA.tif"
    path = write_raster(tmp_path / name, two_halves_dn())
    hooks = RunHooks()
    result = extract(str(path), ExtractConfig(method="classical"), hooks)
    assert result.scene.acquisition_date == "2014-08-29"
    assert result.lines and all(line.attributes["date"] == "2014-08-29" for line in result.lines)
    assert any("ALOS-2 PALSAR-2 HH" in note and "ScanSAR" in note for note in hooks.notes)
    default = OPEN(str(path)).read_db(0, 0, 10, 10)
    other = OPEN(str(path), readers.ReadOptions(calibration_db=-79.0)).read_db(0, 0, 10, 10)
    np.testing.assert_allclose(other - default, 4.0, atol=1e-4)
    (tmp_path / "summary.txt").write_text('Img_SceneCenterDateTime="20140830 03:32:17.000"\n')
    assert OPEN(str(path)).acquisition_date == "2014-08-30"


def test_alos2_ceos_that_gdal_cannot_read_says_what_to_do(tmp_path):
    ceos = tmp_path / "IMG-HH-ALOS2014410740-140829-UBSL1.1__A"
    ceos.write_bytes(b"\0" * 1000)
    with pytest.raises(InputError, match="order the product as GeoTIFF"):
        OPEN(str(ceos))


POWER = (two_halves_dn().astype(np.float32) ** 2) * 10 ** (-83 / 10)


@pytest.mark.parametrize(("name", "values", "expected", "why"), [
    ("rtc_VV.tif", POWER, scale.LINEAR_POWER, "HyP3"),
    ("rtc_VV_amp.tif", np.sqrt(POWER), scale.AMPLITUDE, "amplitude"),
    ("export.tif", 10 * np.log10(POWER), scale.DECIBEL, "negative values"),
    ("snap.tif", POWER, scale.LINEAR_POWER, "linear power"),
])
def test_scale_is_detected_and_explained(tmp_path, name, values, expected, why):
    scene = OPEN(str(write_raster(tmp_path / name, values, nodata=None)))
    assert scene.interpretation == expected
    assert why in scene.describe_interpretation()
    reference = 20 * np.log10(two_halves_dn().astype(np.float64)) - 83.0
    np.testing.assert_allclose(scene.read_db(0, 0, 50, 50), reference[:50, :50], atol=1e-3)


def test_scale_given_wins_and_contradictions_are_warned(tmp_path):
    path = write_raster(tmp_path / "plain.tif", np.sqrt(POWER), nodata=None)
    assert OPEN(str(path)).interpretation == scale.LINEAR_POWER  # nothing says amplitude: power by default
    assert OPEN(str(path), readers.ReadOptions(scale=scale.AMPLITUDE)).interpretation == scale.AMPLITUDE
    in_db = write_raster(tmp_path / "db.tif", 10 * np.log10(POWER), nodata=None)
    scene = OPEN(str(in_db), readers.ReadOptions(scale=scale.LINEAR_POWER))
    assert any("negative values" in warning for warning in scene.warnings)
    with pytest.raises(InputError, match="Unknown SCALE"):
        OPEN(str(path), readers.ReadOptions(scale="percent"))


def test_class_raster_is_warned_not_silent(tmp_path):
    classes = np.where(np.arange(256)[None, :] < 128, 1, 2) * np.ones((256, 1), np.uint16)
    hooks = RunHooks()
    extract(str(write_raster(tmp_path / "classes.tif", classes.astype(np.uint16))), ExtractConfig(method="classical"),
            hooks)
    assert any("class or label raster" in warning for warning in hooks.warnings)
    assert not OPEN(str(write_raster(tmp_path / "sar.tif", two_halves_dn()))).warnings


def test_sea_masked_as_nodata_is_warned(tmp_path):
    masked = POWER.copy()
    masked[:, :128] = np.nan  # SNAP's "mask out areas without elevation": the sea is gone
    scene = OPEN(str(write_raster(tmp_path / "snap_masked.tif", masked, nodata=None)))
    assert any("DEM mask's edge" in warning for warning in scene.warnings)
    with_sea = POWER.copy()
    with_sea[:, :20] = np.nan  # a swath edge in the sea: the water line is the radar's
    assert not OPEN(str(write_raster(tmp_path / "snap_sea.tif", with_sea, nodata=None))).warnings


def test_offset_grid_is_interpolated_per_window():
    dn = two_halves_dn(100, 100)
    scene = array_scene(dn, (0.0, 10.0, 0.0, 0.0, 0.0, -10.0))
    grid = np.tile(np.linspace(0.0, 4.0, 5, dtype=np.float32), (5, 1))  # +0 dB at column 0 to +4 dB at 100
    from dataclasses import replace

    shifted = replace(scene, offset_db=grid, offset_step=25)
    difference = shifted.read_db(10, 30, 60, 20) - scene.read_db(10, 30, 60, 20)
    np.testing.assert_allclose(difference[0], (np.arange(10, 70) + 0.5) / 25, atol=1e-5)
    np.testing.assert_allclose(difference, difference[:1].repeat(20, 0), atol=1e-5)


def test_command_line_reads_a_zipped_safe_into_a_shapefile_in_the_crs_asked(synthetic, tmp_path, capsys):
    from osgeo import ogr

    from sar_coastline.core.pipeline.cli import main

    archive = productdata.zip_safe(productdata.write_safe(tmp_path, synthetic))
    output = tmp_path / "coast.shp"
    assert main([str(archive), str(output), "--method", "classical", "--water", "all", "--output-crs",
                 "EPSG:3035"]) == 0
    dataset = ogr.Open(str(output))  # kept: a layer outlives its dataset only to crash
    layer = dataset.GetLayer(0)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "3035"
    assert {feature.GetField("date") for feature in layer} == {productdata.START}
    # The lines Extract gives for the same archive and choices, vertex for vertex (the shapefile keeps doubles).
    expected = extract(str(archive), ExtractConfig(method="classical", water="all", output_crs="EPSG:3035")).lines
    layer.ResetReading()
    written = [np.array(feature.GetGeometryRef().GetPoints())[:, :2] for feature in layer]
    assert len(written) == len(expected) > 0
    for found, line in zip(written, expected):
        np.testing.assert_allclose(found, line.coords, rtol=0, atol=1e-6)
    assert "sigmaNought table" in capsys.readouterr().err


def test_a_measurement_tiff_is_read_with_its_product(synthetic, tmp_path):
    safe = productdata.write_safe(tmp_path, synthetic, {"VV": synthetic.dn, "VH": synthetic.dn})
    measurement = next((safe / "measurement").glob("*-vh-*.tiff"))
    scene = OPEN(str(measurement))
    assert scene.name.endswith("_VH") and scene.acquisition_date == productdata.START
    assert "sigmaNought" in scene.notes[0]
    alone = tmp_path / measurement.name
    alone.write_bytes(measurement.read_bytes())
    assert any("without its product" in warning for warning in OPEN(str(alone)).warnings)


def test_preview_of_a_safe_is_in_sigma0(synthetic, tmp_path):
    scene = OPEN(str(productdata.write_safe(tmp_path, synthetic)))
    preview, _ = scene_preview(scene, max_side=100)
    assert -25 < np.nanmedian(preview) < 0  # calibrated dB, not 20 log10(DN)
