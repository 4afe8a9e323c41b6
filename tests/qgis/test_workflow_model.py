"""The shipped model Shoreline change from SAR scenes (coastline:shorelinechangefromscenes): offered by the provider
with help, and run end to end by qgis_process on a generated coast that moves at known rates."""

import json
import os
import statistics
import subprocess
from pathlib import Path

from qgis.core import QgsVectorLayer

MODEL = "coastline:shorelinechangefromscenes"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROFILE = Path(__file__).resolve().parents[2] / ".qgis-profile"


def test_the_model_is_offered_with_its_steps_and_help(provider):
    model = provider.algorithm("shorelinechangefromscenes")
    assert model is not None and model.id() == MODEL
    assert model.displayName() == "Shoreline change from SAR scenes"
    assert [child.algorithmId() for child in model.childAlgorithms().values()] == [
        "coastline:shorelinechange", "coastline:extractcoastlinesbatch"]
    assert all(child.algorithm() is not None for child in model.create().childAlgorithms().values())
    assert "Extract coastlines (batch)" in model.shortHelpString()
    names = [parameter.name() for parameter in model.parameterDefinitions()]
    assert {"SCENES", "BASELINE", "SPACING", "LENGTH", "extract:COASTLINES", "change:TRANSECTS",
            "change:REPORT"} == set(names)  # the outputs too: the steps were found when the provider loaded
    assert all(parameter.help() for parameter in model.parameterDefinitions())


def test_qgis_process_runs_the_model_from_scenes_to_a_change_report(tmp_path):
    from sar_coastline.synthetic.series import ORIGIN, MovingCoast, generate_series, write_series

    assert (PROFILE / "profiles/default/python/plugins/sar_coastline").exists(), "run `make install` first"
    coast = MovingCoast()
    write_series(generate_series(coast), coast, tmp_path / "scenes")
    coastlines, transects, report = tmp_path / "coast.gpkg", tmp_path / "transects.gpkg", tmp_path / "report.html"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(PROFILE)}
    completed = subprocess.run(
        [QGIS_PROCESS, "run", MODEL, "--json", f"--SCENES={tmp_path / 'scenes'}", "--SPACING=50", "--LENGTH=400",
         f"--extract:COASTLINES={coastlines}", f"--change:TRANSECTS={transects}", f"--change:REPORT={report}"],
        capture_output=True, text=True, env=environment, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    assert results["change:TRANSECTS"] == str(transects) and results["change:REPORT"] == str(report)

    status = QgsVectorLayer(f"{coastlines}|layername=status", "status")
    assert [feature["status"] for feature in status.getFeatures()] == ["ok"] * 5
    layer = QgsVectorLayer(str(transects), "transects")
    rates = {"north": [], "south": []}
    for feature in layer.getFeatures():
        row = (ORIGIN[1] - feature.geometry().asPolyline()[0].y()) / coast.pixel_size
        if feature["n_dates"] == 5 and abs(row - coast.size / 2) > 3 * coast.transition_px:
            rates["north" if row < coast.size / 2 else "south"].append(feature["lrr_m_yr"])
    # the coast retreats 6 m/yr in the north and advances 4 m/yr in the south
    assert len(rates["north"]) >= 3 and len(rates["south"]) >= 3
    assert abs(statistics.median(rates["north"]) - coast.north_rate) < 1.0
    assert abs(statistics.median(rates["south"]) - coast.south_rate) < 1.0
    assert report.stat().st_size > 1000 and "<html" in report.read_text().lower()
