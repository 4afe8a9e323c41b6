"""Train models and Extract coastline with a model, through processing.run, on the CPU with a tiny network."""

import numpy as np
import processing
import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer

from sar_coastline.core.inference.loading import DEFAULT_MODEL
from sar_coastline.models.modelfile import read_manifest, read_meta


def _write_lines(path, lines, crs_wkt, epsg=None):
    """A GeoPackage of lines; with `epsg`, reprojected there (the Train models adapter must bring them back)."""
    from osgeo import ogr, osr

    ogr.UseExceptions()
    source = osr.SpatialReference(wkt=crs_wkt)
    target = source
    if epsg:
        target = osr.SpatialReference()
        target.ImportFromEPSG(epsg)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("lines", target, ogr.wkbLineString)
    for line in lines:
        geometry = ogr.Geometry(ogr.wkbLineString)
        for x, y in line:
            geometry.AddPoint_2D(float(x), float(y))
        geometry.Transform(transform)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    dataset = None
    return f"{path}|layername=lines"


@pytest.fixture(scope="module")
def truth_lines(scene_paths):
    from sar_coastline.synthetic.scenes import generate_scene

    lines = generate_scene(512, 512, seed=11, style="rocky").truth_lines  # the scene of scene_paths
    # In pieces, so that two layers can each hold some: one line per feature is how people keep them too.
    return [piece for line in lines for piece in np.array_split(line, 3) if len(piece) >= 2]


@pytest.fixture(scope="module")
def trained(provider, scene_paths, truth_lines, tmp_path_factory):
    """Trained on the scene's coastline kept in two layers, one of them in another CRS."""
    from sar_coastline.core.io.readers import open_scene
    from sar_coastline.training import loop

    folder = tmp_path_factory.mktemp("trained")
    crs_wkt = open_scene(str(scene_paths.image)).crs_wkt
    assert len(truth_lines) > 2
    layers = [_write_lines(folder / "coast_a.gpkg", truth_lines[:2], crs_wkt),
              _write_lines(folder / "coast_b.gpkg", truth_lines[2:], crs_wkt, epsg=4326)]
    given = []
    train = loop.train

    def recording_train(sources, config, output_folder, hooks=None):
        given.extend(sources)
        return train(sources, config, output_folder, hooks)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "train", recording_train)
        results = processing.run("coastline:trainmodels", {
            "RASTERS": [str(scene_paths.image)], "COASTLINES": layers,
            "PRESET": 2, "ENCODER": 5, "HEAD": 0, "EPOCHS": 1, "STEPS_PER_EPOCH": 2, "BATCH_SIZE": 2,
            "CROP_MIN": 128, "CROP_MAX": 192, "MODEL_SIDE": 64, "VALIDATION_SHARE": 0.3, "DEVICE": 1,
            "OUTPUT_FOLDER": str(folder / "models")})
    return results, given


def test_train_models_combines_every_coastline_layer(trained, truth_lines):
    _results, [source] = trained
    assert len(source.lines) == len(truth_lines)
    for got, expected in zip(source.lines, truth_lines):
        np.testing.assert_allclose(got, expected, atol=0.01)  # the EPSG:4326 layer came back to the scene's CRS


def test_train_models_writes_model_files_and_a_manifest(trained):
    results, _sources = trained
    assert results["MANIFEST"].endswith("ensemble.json")
    [(model, _weight)] = read_manifest(results["MANIFEST"])
    assert read_meta(model).head == "softmax_coast"
    assert results["BEST_SCORE"] == pytest.approx(read_meta(model).validation_score)


def test_a_single_coastline_layer_is_still_accepted(provider, scene_paths, tmp_path):
    from qgis.core import QgsApplication, QgsProcessingContext

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("coastline:trainmodels")
    context = QgsProcessingContext()
    parameters = {"RASTERS": [str(scene_paths.image)], "COASTLINES": f"{scene_paths.truth}|layername=coastline",
                  "OUTPUT_FOLDER": str(tmp_path)}
    valid, message = algorithm.checkParameterValues(parameters, context)
    assert valid, message
    layers = algorithm.parameterAsLayerList(parameters, "COASTLINES", context)
    from sar_coastline.synthetic.scenes import generate_scene

    assert [layer.featureCount() for layer in layers] == [len(generate_scene(512, 512, seed=11,
                                                                             style="rocky").truth_lines)]


@pytest.mark.parametrize("method", [0, 1])
def test_extract_with_the_trained_model(provider, scene_paths, trained, tmp_path, method):
    output = tmp_path / "coast.gpkg"
    probabilities = tmp_path / "probabilities.tif"
    result = processing.run("coastline:extractcoastline", {
        "INPUT": str(scene_paths.image), "METHOD": method, "MODELS": [trained[0]["MANIFEST"]], "DEVICE": 1,
        "MIN_LENGTH": 0, "OUTPUT": str(output), "PROBABILITIES": str(probabilities)})
    layer = QgsVectorLayer(str(output), "coast")
    features = list(layer.getFeatures())
    assert layer.isValid() and features and len(features) == result["LINE_COUNT"]
    for feature in features:
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
                                                      "MODELS": [trained[0]["MANIFEST"]],
                                                      "OUTPUT": str(tmp_path / "coast.gpkg")})


def test_the_bundled_model_runs_when_no_model_is_given(provider, scene_paths, tmp_path):
    output = tmp_path / "coast.gpkg"
    processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "METHOD": 0, "DEVICE": 1,
                                                  "OUTPUT": str(output)})
    features = list(QgsVectorLayer(str(output), "coast").getFeatures())
    bundled = ", ".join(path.stem for path, _weight in read_manifest(DEFAULT_MODEL))
    assert features and all(feature["models"] == bundled for feature in features)
