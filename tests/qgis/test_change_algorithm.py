"""Shoreline change (coastline:shorelinechange) through processing.run, qgis_process and the batch dialog."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import processing
import pytest
from qgis.core import QgsGraduatedSymbolRenderer, QgsProcessingException, QgsVectorLayer
from qgisbatch import run_batch

CHANGE = "coastline:shorelinechange"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROFILE = Path(__file__).resolve().parents[2] / ".qgis-profile"
STAT_FIELDS = ["n_dates", "sce_m", "nsm_m", "epr_m_yr", "epr_unc_m_yr", "lrr_m_yr", "lrr_r2", "lrr_se", "lrr_ci95",
               "wlr_m_yr", "wlr_r2", "wlr_se", "wlr_ci95"]


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """The generated moving coast's true water lines (land on their left), one GeoPackage per date with the
    fields Extract coastline writes, one with all dates, and an onshore baseline."""
    from sar_coastline.core.io.vectors import Feature, Layer, write_layers
    from sar_coastline.synthetic.scenes import _crs_wkt
    from sar_coastline.synthetic.series import MovingCoast, generate_series, onshore_baseline

    folder = tmp_path_factory.mktemp("series")
    coast = MovingCoast()
    scenes = generate_series(coast)
    per_date = []
    for scene in scenes:
        attributes = {"scene": f"coast_{scene.when:%Y%m%d}", "date": f"{scene.when:%Y-%m-%d}", "method": "classical",
                      "uncertainty_m": 3.0}
        path = folder / f"coast_{scene.when:%Y%m%d}.gpkg"
        write_layers(path, [Layer("coastline", [Feature(scene.truth, attributes)])], _crs_wkt())
        per_date.append(str(path))
    combined = folder / "all_dates.gpkg"
    write_layers(combined, [Layer("coastline", [Feature(scene.truth, {"date": f"{scene.when:%Y-%m-%d}"})
                                                for scene in scenes])], _crs_wkt())
    baseline = folder / "baseline.gpkg"
    write_layers(baseline, [Layer("baseline", [Feature(onshore_baseline(coast), {"slope": 0.05})])], _crs_wkt())
    return {"coast": coast, "scenes": scenes, "per_date": per_date, "combined": str(combined),
            "baseline": str(baseline), "folder": folder}


def features(path):
    layer = QgsVectorLayer(str(path), "out")
    assert layer.isValid()
    return layer, list(layer.getFeatures())


def test_rates_of_the_generated_series_with_an_automatic_baseline(provider, series, tmp_path):
    transects_path, points_path, report = tmp_path / "transects.gpkg", tmp_path / "points.gpkg", tmp_path / "r.html"
    result = processing.run(CHANGE, {"LINES": series["per_date"], "SPACING": 50, "LENGTH": 400,
                                     "OUTPUT_TRANSECTS": str(transects_path), "OUTPUT_POINTS": str(points_path),
                                     "REPORT": str(report)})
    assert result["DATE_COUNT"] == 5 and result["TRANSECT_COUNT"] > 15
    layer, transects = features(transects_path)
    names = [field.name() for field in layer.fields()]
    assert all(name in names for name in STAT_FIELDS)
    coast = series["coast"]
    errors = []
    for feature in transects:
        true = coast.rate_at_y(feature.geometry().asPolyline()[0].y())
        if abs(true - coast.north_rate) < 0.05 or abs(true - coast.south_rate) < 0.05:  # away from the change
            assert feature["n_dates"] == 5
            assert feature["lrr_ci95"] > 0 and 0 <= feature["lrr_r2"] <= 1
            errors.append(abs(feature["lrr_m_yr"] - true))
    # 3 m of noise per date over 6.7 years: the slope's standard error is about 0.57 m/yr
    assert len(errors) > 15 and np.median(errors) < 0.6 and max(errors) < 1.5
    _, points = features(points_path)
    assert len(points) == sum(feature["n_dates"] for feature in transects)
    assert {point["date"] for point in points} == {f"{scene.when:%Y-%m-%d}" for scene in series["scenes"]}
    assert "Chosen transects" in report.read_text()

    styled = QgsVectorLayer(str(transects_path), "styled")  # loads the .qml written beside the file
    assert (tmp_path / "transects.qml").exists()
    assert isinstance(styled.renderer(), QgsGraduatedSymbolRenderer)
    assert "lrr_m_yr" in styled.renderer().classAttribute()
    ranges = styled.renderer().ranges()
    assert ranges[0].lowerValue() == -ranges[-1].upperValue()  # symmetric around no change


def test_one_layer_with_dates_a_baseline_on_land_and_tide_csv(provider, series, tmp_path):
    levels = tmp_path / "tide.csv"
    levels.write_text("date;level\n" + "".join(f"{scene.when:%Y-%m-%d};{0.1 * index:.1f}\n".replace(".", ",")
                                                 for index, scene in enumerate(series["scenes"])))
    points_path = tmp_path / "points.gpkg"
    result = processing.run(CHANGE, {
        "LINES": [series["combined"]], "BASELINE": series["baseline"], "SEA_SIDE": 2, "SPACING": 100,
        "LENGTH": 400, "TIDE_CSV": str(levels), "REFERENCE_ELEVATION": 0.2, "SLOPE_FIELD": "slope",
        "OUTPUT_TRANSECTS": "memory:", "OUTPUT_POINTS": str(points_path)})
    _, points = features(points_path)
    by_date = {point["date"]: point["tide_correction_m"] for point in points}
    # (level - 0.2) / 0.05 with levels 0.0, 0.1, ... 0.4
    assert [by_date[date] for date in sorted(by_date)] == pytest.approx([-4.0, -2.0, 0.0, 2.0, 4.0])
    for point in points:
        assert point["position_m"] == pytest.approx(point["distance_m"] + point["tide_correction_m"])
    assert result["MEDIAN_LRR_M_YR"] is not None


@pytest.mark.parametrize("change, message", [
    ({"LINES": "first"}, "at least two dates"),
    ({"DATE_FIELD": "acquired"}, "has no date"),
    ({"SEA_SIDE": 3}, "Without a BASELINE"),
])
def test_clear_errors(provider, series, tmp_path, change, message):
    parameters = {"LINES": series["per_date"], "OUTPUT_TRANSECTS": "memory:"}
    parameters.update(change)
    if parameters["LINES"] == "first":
        parameters["LINES"] = series["per_date"][:1]
    if change.get("DATE_FIELD"):  # the names hold the date too: hide it
        parameters["LINES"] = [series["combined"]]
    with pytest.raises(QgsProcessingException, match=message):
        processing.run(CHANGE, parameters)


def test_qgis_process_and_batch_dialog(provider, series, tmp_path, qgis_iface):
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(PROFILE)}
    output = tmp_path / "cli.gpkg"
    completed = subprocess.run([QGIS_PROCESS, "run", CHANGE, "--json", *[f"--LINES={path}" for path in
                                                                         series["per_date"]],
                                "--SPACING=100", f"--OUTPUT_TRANSECTS={output}"],
                               capture_output=True, text=True, env=environment, check=True)
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    assert results["DATE_COUNT"] == 5 and QgsVectorLayer(str(output), "t").featureCount() == results["TRANSECT_COUNT"]
    assert (tmp_path / "cli.qml").exists()

    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from qgis.core import QgsProcessingContext

    dialog = BatchAlgorithmDialog(provider.algorithm("shorelinechange").create())
    panel = dialog.mainWidget()
    context = QgsProcessingContext()
    batch_output = tmp_path / "batch.gpkg"
    panel.wrappers[0][panel.parameter_to_column["LINES"]].setParameterValue(series["per_date"], context)
    panel.wrappers[0][panel.parameter_to_column["SPACING"]].setParameterValue(100, context)
    panel.tblParameters.cellWidget(1, panel.parameter_to_column["OUTPUT_TRANSECTS"]).setValue(str(batch_output))
    # files, not temporary layers: a temporary point output loaded here left pytest-qgis waiting at exit
    panel.tblParameters.cellWidget(1, panel.parameter_to_column["OUTPUT_POINTS"]).setValue(str(tmp_path / "p.gpkg"))
    run_batch(dialog)
    assert QgsVectorLayer(str(batch_output), "t").featureCount() == results["TRANSECT_COUNT"]
