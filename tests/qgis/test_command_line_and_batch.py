"""The other two ways users run the algorithms: qgis_process and the batch dialog."""

import json
import os
import subprocess
from pathlib import Path

from qgis.core import QgsVectorLayer
from qgisbatch import run_batch

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROFILE = Path(__file__).resolve().parents[2] / ".qgis-profile"


def test_qgis_process_runs_extract_and_evaluate(scene_paths, tmp_path):
    assert (PROFILE / "profiles/default/python/plugins/sar_coastline").exists(), "run `make install` first"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(PROFILE)}
    listing = subprocess.run([QGIS_PROCESS, "list"], capture_output=True, text=True, env=environment, check=True)
    assert "SAR Coastline" in listing.stdout and "coastline:evaluatecoastline" in listing.stdout

    output = tmp_path / "coast.gpkg"
    subprocess.run([QGIS_PROCESS, "run", "coastline:extractcoastline", f"--INPUT={scene_paths.image}",
                    "--METHOD=2", f"--OUTPUT={output}"], capture_output=True, text=True, env=environment, check=True)
    assert QgsVectorLayer(str(output), "coast").featureCount() > 0
    completed = subprocess.run(
        [QGIS_PROCESS, "run", "coastline:evaluatecoastline", "--json", f"--PREDICTED={output}",
         f"--REFERENCE={scene_paths.truth}|layername=coastline"],
        capture_output=True, text=True, env=environment, check=True)
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    assert 0 < results["SCORE"] < 25

    missing = subprocess.run([QGIS_PROCESS, "run", "coastline:extractcoastline", f"--OUTPUT={output}"],
                             capture_output=True, text=True, env=environment)
    assert missing.returncode != 0


def test_batch_dialog_runs_two_rows(provider, scene_paths, tmp_path, qgis_iface):
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from qgis.core import QgsProcessingContext

    dialog = BatchAlgorithmDialog(provider.algorithm("extractcoastline").create())
    panel = dialog.mainWidget()
    panel.addRow()
    assert panel.batchRowCount() == 2
    outputs = [tmp_path / "row1.gpkg", tmp_path / "row2.gpkg"]
    context = QgsProcessingContext()
    for row, output in enumerate(outputs):
        panel.wrappers[row][panel.parameter_to_column["INPUT"]].setParameterValue(str(scene_paths.image), context)
        panel.wrappers[row][panel.parameter_to_column["MIN_LENGTH"]].setParameterValue(60 + 100 * row, context)
        panel.wrappers[row][panel.parameter_to_column["METHOD"]].setParameterValue(2, context)  # classical
        panel.tblParameters.cellWidget(row + 1, panel.parameter_to_column["OUTPUT"]).setValue(str(output))
    run_batch(dialog)
    counts = [QgsVectorLayer(str(output), "coast").featureCount() for output in outputs]
    assert all(count > 0 for count in counts)
    assert counts[1] <= counts[0]  # the second row dropped lines shorter than 160 m

