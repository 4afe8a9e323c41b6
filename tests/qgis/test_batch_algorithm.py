"""Extract coastlines (batch) (coastline:extractcoastlinesbatch) through processing.run: folder, list and layers in,
one GeoPackage out, a bad scene recorded, resume, cancel, and a 2-thread local Dask cluster inside QGIS."""

import os

import processing
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

BATCH = "coastline:extractcoastlinesbatch"


@pytest.fixture(scope="module")
def scene_folder(tmp_path_factory):
    from sar_coastline.synthetic.scenes import generate_scene, write_scene

    folder = tmp_path_factory.mktemp("batch_alg")
    for seed, style in ((71, "rocky"), (72, "beach")):
        paths = write_scene(generate_scene(320, 320, seed, style), folder, f"scene_2020-05-{seed - 60:02d}_{style}")
        os.remove(paths.labels)
        os.remove(paths.truth)
    (folder / "damaged.tif").write_bytes(b"II*\0garbage")
    return folder


def status_of(path):
    layer = QgsVectorLayer(f"{path}|layername=status", "status", "ogr")
    assert layer.isValid()
    return {feature["scene"]: (feature["status"], feature["error"], feature["line_count"])
            for feature in layer.getFeatures()}


def test_a_folder_in_one_geopackage_out_with_the_bad_scene_in_the_status_table(provider, scene_folder, tmp_path):
    output = tmp_path / "batch.gpkg"
    context = QgsProcessingContext()
    result = processing.run(BATCH, {"FOLDER": str(scene_folder), "OUTPUT": str(output)}, context=context)
    assert (result["SCENES_DONE"], result["SCENES_FAILED"], result["SCENES_SKIPPED"]) == (2, 1, 0)
    status = status_of(output)
    assert status["damaged"][0] == "error" and "damaged" in status["damaged"][1]
    lines = QgsVectorLayer(f"{output}|layername=coastline", "lines", "ogr")
    assert lines.isValid() and lines.featureCount() == sum(count for _s, _e, count in status.values()) > 0
    assert {"scene", "date", "method", "models", "confidence", "uncertainty_m", "length_m"} <= set(
        lines.fields().names())
    assert {feature["date"] for feature in lines.getFeatures()} == {"2020-05-11", "2020-05-12"}
    assert len(context.layersToLoadOnCompletion()) == 2  # lines and status, added to the project

    again = processing.run(BATCH, {"FOLDER": str(scene_folder), "OUTPUT": str(output)})  # resumed
    assert (again["SCENES_DONE"], again["SCENES_FAILED"], again["SCENES_SKIPPED"]) == (0, 1, 2)
    assert len(status_of(output)) == 3


def test_layers_and_a_list_on_two_dask_threads(provider, scene_folder, tmp_path):
    listing = tmp_path / "scenes.txt"
    listing.write_text(f"{scene_folder / 'scene_2020-05-12_beach.tif'}\n")
    output = tmp_path / "dask.gpkg"
    feedback = LoggingFeedback()
    result = processing.run(BATCH, {"LAYERS": [str(scene_folder / "scene_2020-05-11_rocky.tif")], "LIST": str(listing),
                                    "WORKERS": 2, "OUTPUT": str(output)}, feedback=feedback)
    assert (result["SCENES_DONE"], result["SCENES_FAILED"]) == (2, 0)
    assert any("Local Dask cluster: 2 worker thread(s)" in line for line in feedback.lines)
    assert sorted(status_of(output)) == ["scene_2020-05-11_rocky", "scene_2020-05-12_beach"]


def test_cancel_keeps_the_scenes_done(provider, scene_folder, tmp_path):
    output = tmp_path / "cancelled.gpkg"
    feedback = LoggingFeedback(cancel_after_line="[1/3]")
    with pytest.raises(QgsProcessingException, match="run again with the same output"):
        processing.run(BATCH, {"FOLDER": str(scene_folder), "OUTPUT": str(output)}, feedback=feedback)
    assert len(status_of(output)) == 1


def test_no_scene_or_a_wrong_output_is_refused(provider, scene_folder, tmp_path):
    with pytest.raises(QgsProcessingException, match="No scene given"):
        processing.run(BATCH, {"OUTPUT": str(tmp_path / "x.gpkg")})
    with pytest.raises(QgsProcessingException, match="GeoPackage"):
        processing.run(BATCH, {"FOLDER": str(scene_folder), "OUTPUT": str(tmp_path / "x.shp")})
    assert not (tmp_path / "x.gpkg").exists()


class LoggingFeedback(QgsProcessingFeedback):
    """Keeps the log; cancels once a log line starting with `cancel_after_line` was pushed."""

    def __init__(self, cancel_after_line=None):
        super().__init__()
        self.lines, self.cancel_after_line = [], cancel_after_line

    def pushInfo(self, info):  # noqa: N802 (QGIS API)
        self.lines.append(info)
        if self.cancel_after_line and info.startswith(self.cancel_after_line):
            self.cancel()
        super().pushInfo(info)
