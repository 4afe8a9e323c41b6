"""The algorithms through processing.run, as the Toolbox and models call them."""

import numpy as np
import processing
import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer

from testdata import two_halves_dn, write_raster

EXTRACT = "coastline:extractcoastline"
EVALUATE = "coastline:evaluatecoastline"


CLASSICAL = 2  # METHOD option: these tests are about the plugin's plumbing, not a model


def extract(tmp_path, raster, **extra):
    output = tmp_path / "coast.gpkg"
    result = processing.run(EXTRACT, {"INPUT": str(raster), "METHOD": CLASSICAL, "OUTPUT": str(output), **extra})
    return result, output


def test_provider_lists_every_algorithm_with_help(provider):
    ids = {algorithm.id() for algorithm in provider.algorithms()}
    assert ids == {EXTRACT, EVALUATE, "coastline:trainmodels", "coastline:shorelinechange",
                   "coastline:extractcoastlinesbatch", "coastline:installdependencies", "coastline:checkdevice",
                   "coastline:findscenes", "coastline:downloadscenes", "coastline:shorelinechangefromscenes"}
    assert provider.name() == "SAR Coastline"
    for algorithm in provider.algorithms():
        assert algorithm.shortHelpString()
        missing = [parameter.name() for parameter in algorithm.parameterDefinitions() if not parameter.help()]
        assert not missing, f"{algorithm.id()} parameters without help text: {missing}"


def test_method_choices_and_defaults_come_from_core(provider):
    from sar_coastline.core.config import ExtractConfig, InferenceConfig
    from sar_coastline.core.methods import registry

    extract_algorithm = provider.algorithm("extractcoastline")
    method = extract_algorithm.parameterDefinition("METHOD")
    assert method.options() == [item.label for item in registry.all_methods()]
    assert registry.names()[method.defaultValue()] == ExtractConfig().method
    assert extract_algorithm.parameterDefinition("MIN_LENGTH").defaultValue() == ExtractConfig().min_length_m
    assert extract_algorithm.parameterDefinition("OVERLAP").defaultValue() == InferenceConfig().overlap


def test_extract_then_evaluate_on_a_generated_scene(provider, scene_paths, tmp_path):
    quicklook = tmp_path / "quicklook.png"
    result, output = extract(tmp_path, scene_paths.image, QUICKLOOK=str(quicklook))
    layer = QgsVectorLayer(str(output), "coast")
    assert layer.isValid() and layer.featureCount() == result["LINE_COUNT"] > 0
    assert layer.crs().authid() == "EPSG:32633"
    assert [field.name() for field in layer.fields()][-7:] == ["scene", "date", "method", "models", "confidence",
                                                                "uncertainty_m", "length_m"]
    for feature in layer.getFeatures():
        geometry = feature.geometry()
        assert not geometry.isMultipart() and geometry.isSimple()
        assert feature["method"] == "classical" and feature["scene"] == "rocky_512"
        assert feature["length_m"] == pytest.approx(geometry.length(), rel=1e-4)
    assert quicklook.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    points_out = tmp_path / "points.gpkg"
    report = tmp_path / "report.html"
    scores = processing.run(EVALUATE, {
        "PREDICTED": str(output), "REFERENCE": f"{scene_paths.truth}|layername=coastline",
        "POINTS": f"{scene_paths.truth}|layername=points", "OUTPUT_POINTS": str(points_out), "REPORT": str(report)})
    assert 0 < scores["SCORE"] < 10  # the classical method scores 3.6 m here (sea-only); the cap is 150
    assert scores["N_POINTS"] == QgsVectorLayer(f"{scene_paths.truth}|layername=points").featureCount()
    per_point = QgsVectorLayer(str(points_out), "points")
    assert per_point.featureCount() == scores["N_POINTS"]
    capped = [feature["capped_m"] for feature in per_point.getFeatures()]
    assert np.mean(capped) == pytest.approx(scores["SCORE"], rel=1e-6)
    assert f"{scores['SCORE']:.2f}" in report.read_text()


def test_evaluate_identical_lines_scores_zero_and_points_default(provider, scene_paths):
    reference = f"{scene_paths.truth}|layername=coastline"
    scores = processing.run(EVALUATE, {"PREDICTED": reference, "REFERENCE": reference})
    assert scores["SCORE"] == pytest.approx(0.0, abs=1e-6)
    assert scores["MISS_RATE"] == 0 and scores["N_POINTS"] > 10


def test_evaluate_reprojects_a_prediction_in_another_crs(provider, scene_paths, tmp_path):
    reference = f"{scene_paths.truth}|layername=coastline"
    reprojected = tmp_path / "truth_3857.gpkg"
    processing.run("native:reprojectlayer", {"INPUT": reference, "TARGET_CRS": "EPSG:3857",
                                             "OUTPUT": str(reprojected)})
    scores = processing.run(EVALUATE, {"PREDICTED": str(reprojected), "REFERENCE": reference})
    assert scores["SCORE"] < 0.01


def test_evaluate_measures_a_geographic_reference_in_its_utm_zone(provider, scene_paths, tmp_path):
    reference = f"{scene_paths.truth}|layername=coastline"
    geographic = tmp_path / "truth_4326.gpkg"
    processing.run("native:reprojectlayer", {"INPUT": reference, "TARGET_CRS": "EPSG:4326",
                                             "OUTPUT": str(geographic)})
    shifted = tmp_path / "shifted.gpkg"  # 10 m east of the truth: every distance is at most 10 m
    processing.run("native:translategeometry", {"INPUT": reference, "DELTA_X": 10.0, "OUTPUT": str(shifted)})
    projected = processing.run(EVALUATE, {"PREDICTED": str(shifted), "REFERENCE": reference})
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, info):  # noqa: N802 (QGIS API)
            self.lines.append(info)

    log = Log()
    scores = processing.run(EVALUATE, {"PREDICTED": str(shifted), "REFERENCE": str(geographic)}, feedback=log)
    assert 5 < scores["SCORE"] == pytest.approx(projected["SCORE"], abs=0.05)
    assert any("local UTM zone EPSG:32633" in line for line in log.lines)


@pytest.mark.parametrize(("name", "make", "message"), [
    ("nocrs", lambda: two_halves_dn(), "no coordinate reference system"),
    ("threebands", lambda: np.stack([two_halves_dn(), two_halves_dn(seed=1), two_halves_dn()]), "has 3 bands"),
    ("nodata", lambda: np.zeros((128, 128), np.uint16), "only no-data"),
    ("nodatafloat", lambda: np.zeros((128, 128), np.float32), "only no-data"),  # GDAL's min/max used to escape
    ("small", lambda: two_halves_dn(32, 32, coast_col=16), "at least 64 x 64"),
])
def test_bad_rasters_fail_clearly_and_write_nothing(provider, tmp_path, name, make, message):
    epsg = {"nocrs": None}.get(name, 32633)
    raster = write_raster(tmp_path / f"{name}.tif", make(), epsg=epsg)
    with pytest.raises(QgsProcessingException, match=message):
        extract(tmp_path, raster)
    assert not (tmp_path / "coast.gpkg").exists()


def test_band_choice_and_float_interpretation(provider, tmp_path):
    halves = two_halves_dn(128, 128, coast_col=64)
    bands = write_raster(tmp_path / "bands.tif", np.stack([np.ones((128, 128), np.uint16), halves]))
    result, output = extract(tmp_path, bands, BAND=2)
    assert result["LINE_COUNT"] == 1
    power = (halves.astype(np.float32) ** 2) * 10 ** (-83 / 10)
    result, _output = extract(tmp_path, write_raster(tmp_path / "power.tif", power, nodata=None))
    assert result["LINE_COUNT"] == 1


def test_unwritable_output_fails_before_work(provider, tmp_path):
    raster = write_raster(tmp_path / "halves.tif", two_halves_dn())
    with pytest.raises(QgsProcessingException, match="does not exist or is not writable"):
        processing.run(EXTRACT, {"INPUT": str(raster), "METHOD": CLASSICAL,
                                 "OUTPUT": str(tmp_path / "missing" / "coast.gpkg")})


def test_cancel_leaves_no_output(provider, tmp_path):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    raster = write_raster(tmp_path / "halves.tif", two_halves_dn())
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda _percent: feedback.cancel())
    output = tmp_path / "cancelled.gpkg"
    algorithm = provider.algorithm("extractcoastline")
    results, ok = algorithm.run({"INPUT": str(raster), "METHOD": CLASSICAL, "OUTPUT": str(output)},
                                QgsProcessingContext(), feedback)
    assert not ok  # a cancelled run fails, so qgis_process exits non-zero
    assert feedback.isCanceled() and not output.exists()
    assert "LINE_COUNT" not in results


def test_models_with_the_classical_method_are_refused_naming_method(provider, tmp_path):
    manifest = tmp_path / "ensemble.json"
    manifest.write_text("{}")
    with pytest.raises(QgsProcessingException, match="METHOD 'classical' uses no model.*METHOD 0"):
        extract(tmp_path, write_raster(tmp_path / "halves.tif", two_halves_dn()), MODELS=[str(manifest)])
    assert not (tmp_path / "coast.gpkg").exists()


def test_sentinel1_safe_folder_with_an_output_crs(provider, tmp_path):
    import productdata

    safe = productdata.write_safe(tmp_path, productdata.scene(size=200, seed=3))
    result, output = extract(tmp_path, safe, OUTPUT_CRS="EPSG:3035", WATER=1)
    layer = QgsVectorLayer(str(output), "coast")
    assert layer.isValid() and layer.featureCount() == result["LINE_COUNT"] > 0
    assert layer.crs().authid() == "EPSG:3035"
    assert {feature["date"] for feature in layer.getFeatures()} == {productdata.START}
    assert {feature["scene"] for feature in layer.getFeatures()} == {safe.name.removesuffix(".SAFE") + "_VV"}


@pytest.mark.parametrize("extension", [".shp", ".geojson"])
def test_file_outputs_open_with_their_crs(provider, tmp_path, extension):
    output = tmp_path / f"coast{extension}"
    result = processing.run(EXTRACT, {"INPUT": str(write_raster(tmp_path / "halves.tif", two_halves_dn())),
                                      "METHOD": CLASSICAL, "OUTPUT": str(output)})
    layer = QgsVectorLayer(str(output), "coast")
    assert layer.isValid() and layer.featureCount() == result["LINE_COUNT"] == 1
    assert layer.crs().authid() == "EPSG:32633"
    if extension == ".shp":
        written = {path.name for path in tmp_path.iterdir()}
        assert {f"coast{side}" for side in (".shp", ".shx", ".dbf", ".prj")} <= written
