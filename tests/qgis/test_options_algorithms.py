"""The table of extraction options (core/pipeline/options.py) as the Processing parameters of Extract coastline
and its batch, and the one line schema in both outputs, a method's own attributes included."""

import numpy as np
import processing
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingParameterDefinition, QgsVectorLayer

from sar_coastline.core.config import ExtractConfig
from sar_coastline.core.methods import classical, registry
from sar_coastline.core.methods.contract import Method
from sar_coastline.core.pipeline.extract import LINE_FIELDS
from sar_coastline.core.pipeline.options import BATCH_OPTIONS, ENUM, OPTIONS, config_with
from sar_coastline.ui.options import option_values

TIDE = "with_tide_qgis"


def shown_default(option, parameter):
    return option.choices()[parameter.defaultValue()] if option.kind == ENUM else parameter.defaultValue()


@pytest.mark.parametrize("algorithm_name, options", [("extractcoastline", OPTIONS),
                                                     ("extractcoastlinesbatch", BATCH_OPTIONS)])
def test_every_option_is_a_parameter_with_the_tables_default_help_and_flag(provider, algorithm_name, options):
    algorithm = provider.algorithm(algorithm_name)
    for option in options:
        parameter = algorithm.parameterDefinition(option.parameter)
        assert parameter is not None, option.parameter
        assert shown_default(option, parameter) == option.default, option.parameter
        assert (parameter.description(), parameter.help()) == (option.label, option.help)
        advanced = bool(parameter.flags() & QgsProcessingParameterDefinition.FlagAdvanced)
        assert advanced == option.advanced, option.parameter
    left_out = {option.parameter for option in OPTIONS} - {option.parameter for option in options}
    assert not any(algorithm.parameterDefinition(name) for name in left_out)


def test_processing_values_reach_the_config_and_defaults_give_the_dataclass(provider):
    algorithm = provider.algorithm("extractcoastline").create()
    context = QgsProcessingContext()
    assert config_with(ExtractConfig(), option_values(algorithm, {}, context, OPTIONS)) == ExtractConfig()
    given = {"POLARISATION": " VH ", "SCALE": 4, "CALIBRATION_DB": -80.0, "METHOD": 1, "SCALES": "512, 768",
             "OVERLAP": 0.25, "BATCH_SIZE": 8, "DEVICE": 1, "PRECISION": 1, "SMOOTHING": 2.0, "EDGE_SNAP": 2.5,
             "MIN_LENGTH": 30.0, "WATER": 1, "REFERENCE_DISTANCE": 100.0}
    assert set(given) == {option.parameter for option in OPTIONS}
    config = config_with(ExtractConfig(), option_values(algorithm, given, context, OPTIONS))
    assert (config.polarisation, config.scale, config.calibration_db, config.method) == ("VH", "decibel", -80.0,
                                                                                         registry.names()[1])
    assert (config.edge_snap_px, config.min_length_m, config.water, config.reference_distance_m) == (2.5, 30.0, "all",
                                                                                                     100.0)
    inference = config.inference
    assert (inference.scales, inference.overlap, inference.batch_size, inference.smoothing_sigma) == ((512, 768), 0.25,
                                                                                                      8, 2.0)
    assert (inference.device, inference.precision) == ("cpu", "fp32")


@pytest.fixture
def tide_method():
    def run(context):
        lines = classical.METHOD.run(context)
        for line in lines:
            line.attributes.update(tide_m=np.float64(0.8), orbit=17)
        return lines

    registry.register(Method(TIDE, "With tide (test)", "The classical lines with a tide.", run))
    yield registry.names().index(TIDE)
    registry.unregister(TIDE)


def test_both_outputs_have_one_field_list_with_a_methods_own_attributes(provider, tide_method, scene_paths,
                                                                          tmp_path):
    single, batch = tmp_path / "coast.gpkg", tmp_path / "batch.gpkg"
    processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "METHOD": tide_method,
                                                  "OUTPUT": str(single)})
    processing.run("coastline:extractcoastlinesbatch", {"LAYERS": [str(scene_paths.image)], "METHOD": tide_method,
                                                        "OUTPUT": str(batch)})
    layers = QgsVectorLayer(str(single), "coast"), QgsVectorLayer(f"{batch}|layername=coastline", "batch", "ogr")
    expected = [name for name, _kind in LINE_FIELDS] + ["tide_m", "orbit"]
    for layer in layers:
        assert layer.isValid() and layer.featureCount() > 0
        assert [name for name in layer.fields().names() if name != "fid"] == expected
        assert all(feature["tide_m"] == 0.8 and feature["orbit"] == 17 for feature in layer.getFeatures())
