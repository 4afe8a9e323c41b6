import numpy as np
import pytest

from sar_coastline.core.errors import InputError
from sar_coastline.core.io.georef import map_to_pixel, pixel_to_map
from sar_coastline.core.io.raster_reader import open_scene
from sar_coastline.core.io.scale import DECIBEL, DN_AMPLITUDE, LINEAR_POWER
from sar_coastline.core.io.scene import log_transform, scene_preview
from testdata import two_halves_dn, write_raster


def test_dn_calibration_and_transforms(tmp_path):
    dn = np.full((80, 80), 1412.5, np.float32)  # 20 log10(1412.5) - 83 = -20.0 dB
    dn[:5] = 0
    path = write_raster(tmp_path / "a.tif", dn.astype(np.uint16))
    scene = open_scene(path)
    assert (scene.width, scene.height, scene.pixel_size) == (80, 80, 3.0)
    assert scene.interpretation == DN_AMPLITUDE
    db = scene.read_db()
    assert np.isnan(db[:5]).all()
    assert np.allclose(db[5:], -20.0, atol=0.01)
    unit = log_transform(db)
    assert np.allclose(unit[5:], (-20.0 + 30.0) / 35.0, atol=1e-3)
    assert np.isnan(unit[:5]).all()


def test_windowed_read_matches_full_read(tmp_path):
    scene = open_scene(write_raster(tmp_path / "b.tif", two_halves_dn(100, 90)))
    full = scene.read_db()
    window = scene.read_db(col=10, row=20, width=30, height=40)
    np.testing.assert_array_equal(window, full[20:60, 10:40])
    strips = np.concatenate([strip for _row, strip in scene.iter_strips(strip_height=33)])
    np.testing.assert_array_equal(strips, full)


def test_no_crs_is_refused_and_a_geographic_raster_is_warped_to_utm(tmp_path):
    with pytest.raises(InputError, match="no coordinate reference system"):
        open_scene(write_raster(tmp_path / "c.tif", two_halves_dn(), epsg=None))
    scene = open_scene(write_raster(tmp_path / "d.tif", two_halves_dn(), epsg=4326))
    assert "UTM zone 33N" in scene.crs_wkt and "warped view" in scene.notes[0]
    assert 1.5 < scene.pixel_size < 3.5  # 3e-5 degrees at 55 N: 1.9 m by 3.3 m


def test_multiband_needs_a_band_choice(tmp_path):
    path = write_raster(tmp_path / "d.tif", np.stack([two_halves_dn(), two_halves_dn(seed=1), two_halves_dn()]))
    with pytest.raises(InputError, match="has 3 bands"):
        open_scene(path)
    assert open_scene(path, band=2).band == 2
    with pytest.raises(InputError, match="Band 4 does not exist"):
        open_scene(path, band=4)


@pytest.mark.parametrize("clear_band", [1, 2])
def test_dual_pol_takes_the_band_that_separates_water_from_land(tmp_path, clear_band):
    clear = two_halves_dn(seed=2)
    washed_out = np.sqrt(clear.astype(np.float64) * two_halves_dn(coast_col=0, seed=3)).astype(np.uint16)
    bands = [clear, washed_out] if clear_band == 1 else [washed_out, clear]
    scene = open_scene(write_raster(tmp_path / "dual.tif", np.stack(bands)))
    assert scene.band == clear_band
    assert f"band {clear_band} (band {clear_band}) chosen" in scene.describe_interpretation()
    assert open_scene(tmp_path / "dual.tif", band=3 - clear_band).band == 3 - clear_band


def test_float_rasters_are_interpreted_and_said_so(tmp_path):
    power = (two_halves_dn().astype(np.float32) ** 2) * 10 ** (-83 / 10)
    scene = open_scene(write_raster(tmp_path / "e.tif", power, nodata=None))
    assert scene.interpretation == LINEAR_POWER
    assert "linear sigma0 power" in scene.describe_interpretation()
    in_db = 10 * np.log10(power)
    scene_db = open_scene(write_raster(tmp_path / "f.tif", in_db, nodata=None))
    assert scene_db.interpretation == DECIBEL
    np.testing.assert_allclose(scene_db.read_db(), scene.read_db(), atol=1e-3)


def test_all_nodata_and_too_small_are_refused(tmp_path):
    from sar_coastline.core.config import ExtractConfig
    from sar_coastline.core.pipeline.extract import extract

    with pytest.raises(InputError, match="only no-data"):
        extract(write_raster(tmp_path / "g.tif", np.zeros((100, 100), np.uint16)), ExtractConfig(method="classical"))
    with pytest.raises(InputError, match="at least 64 x 64"):
        open_scene(write_raster(tmp_path / "h.tif", two_halves_dn(40, 300)))


def test_gdal_errors_reach_the_user_as_input_errors(tmp_path):
    empty_float = write_raster(tmp_path / "f.tif", np.zeros((100, 100), np.float32))
    with pytest.raises(InputError, match="only no-data"):
        open_scene(empty_float)  # GDAL's ComputeRasterMinMax fails on it
    whole = write_raster(tmp_path / "whole.tif", two_halves_dn(512, 512))
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 3])  # header intact, pixels cut off
    # GDAL 3.6 (Debian 12) opens it and fails on the rows; GDAL 3.10 (Debian 13) refuses it at open.
    with pytest.raises(InputError, match="Cannot read rows|Cannot open"):
        open_scene(cut).read_db(0, 400, 512, 50)


def test_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"not a raster")
    with pytest.raises(InputError, match="Cannot open"):
        open_scene(path)


def test_pixel_map_round_trip_and_preview(tmp_path):
    scene = open_scene(write_raster(tmp_path / "i.tif", two_halves_dn(300, 200)))
    mx, my = pixel_to_map(scene.geotransform, np.array([0.0, 10.5]), np.array([0.0, 20.0]))
    assert mx.tolist() == [500_000.0, 500_031.5] and my.tolist() == [6_000_000.0, 5_999_940.0]
    px, py = map_to_pixel(scene.geotransform, mx, my)
    np.testing.assert_allclose(px, [0.0, 10.5])
    np.testing.assert_allclose(py, [0.0, 20.0])
    preview, geotransform = scene_preview(scene, max_side=100)
    assert preview.shape == (100, 67)
    assert geotransform[1] == pytest.approx(3.0 * 200 / 67)
