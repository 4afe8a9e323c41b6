"""Train models and Extract coastline with a model, through processing.run, on the CPU with a tiny network."""

import processing
import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer

from sar_coastline.core.extract import DEFAULT_MODEL
from sar_coastline.models.modelfile import read_manifest


@pytest.fixture(scope="module")
def trained(provider, scene_paths, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    results = processing.run("coastline:trainmodels", {
        "RASTERS": [str(scene_paths.image)], "COASTLINES": f"{scene_paths.truth}|layername=coastline",
        "PRESET": 2, "ENCODER": 5, "HEAD": 0, "EPOCHS": 1, "STEPS_PER_EPOCH": 2, "BATCH_SIZE": 2,
        "CROP_MIN": 128, "CROP_MAX": 192, "MODEL_SIDE": 64, "VALIDATION_SHARE": 0.3, "DEVICE": 1,
        "OUTPUT_FOLDER": str(folder)})
    return results


def test_train_models_writes_model_files_and_a_manifest(trained):
    assert trained["MANIFEST"].endswith("ensemble.json")
    assert 0 < trained["BEST_SCORE"] <= 150


@pytest.mark.parametrize("method", [0, 1])
def test_extract_with_the_trained_model(provider, scene_paths, trained, tmp_path, method):
    output = tmp_path / "coast.gpkg"
    probabilities = tmp_path / "probabilities.tif"
    result = processing.run("coastline:extractcoastline", {
        "INPUT": str(scene_paths.image), "METHOD": method, "MODELS": [trained["MANIFEST"]], "DEVICE": 1,
        "MIN_LENGTH": 0, "OUTPUT": str(output), "PROBABILITIES": str(probabilities)})
    layer = QgsVectorLayer(str(output), "coast")
    assert layer.isValid() and layer.featureCount() == result["LINE_COUNT"]
    for feature in layer.getFeatures():
        assert feature["models"] == "unet_resnet18_softmax_coast_log"
        assert feature["method"] == ("orientation_free", "paper")[method]
    assert probabilities.exists()


def test_a_pickle_as_model_is_refused(provider, scene_paths, tmp_path):
    fake = tmp_path / "model.pt"
    fake.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(QgsProcessingException, match="Pickles can execute code"):
        processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "METHOD": 0,
                                                      "MODELS": [str(fake)], "OUTPUT": str(tmp_path / "coast.gpkg")})
    assert not (tmp_path / "coast.gpkg").exists()


def test_bad_scales_are_explained(provider, scene_paths, trained, tmp_path):
    with pytest.raises(QgsProcessingException, match="whole numbers"):
        processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "SCALES": "big", "METHOD": 0,
                                                      "MODELS": [trained["MANIFEST"]],
                                                      "OUTPUT": str(tmp_path / "coast.gpkg")})


def test_the_bundled_model_runs_when_no_model_is_given(provider, scene_paths, tmp_path):
    output = tmp_path / "coast.gpkg"
    processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "METHOD": 0, "DEVICE": 1,
                                                  "OUTPUT": str(output)})
    features = list(QgsVectorLayer(str(output), "coast").getFeatures())
    bundled = ", ".join(path.stem for path, _weight in read_manifest(DEFAULT_MODEL))
    assert features and all(feature["models"] == bundled for feature in features)
