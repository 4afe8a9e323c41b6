"""The one table of extraction options (core/pipeline/options.py) on both command lines, and the one line schema
(core/pipeline/extract.py) in the batch GeoPackage, a method's own attributes included."""

import numpy as np
import pytest
from osgeo import ogr

from sar_coastline import batch as batch_cli
from sar_coastline.core.config import ExtractConfig
from sar_coastline.core.errors import InputError
from sar_coastline.core.methods import classical, registry
from sar_coastline.core.methods.contract import Method
from sar_coastline.core.pipeline import cli
from sar_coastline.core.pipeline.batch import BatchConfig, BatchResult, BatchWriter, SceneOutcome, run_batch
from sar_coastline.core.pipeline.extract import LINE_FIELDS, line_fields, line_values
from sar_coastline.core.pipeline.options import BATCH_OPTIONS, ENUM, OPTIONS, config_with

TIDE = "with_tide"


def test_every_option_is_on_both_command_lines_with_the_dataclass_default():
    single = cli.build_parser().parse_args(["scene.tif", "coast.gpkg"])
    batch = batch_cli.build_parser().parse_args(["scenes/", "--out", "batch.gpkg"])
    for option in OPTIONS:
        assert getattr(single, option.dest) == option.default, option.flag
        if option.batch:
            assert getattr(batch, option.dest) == option.default, option.flag
        else:
            assert not hasattr(batch, option.dest), option.flag
        if option.kind == ENUM:
            assert option.default in option.choices(), option.flag
    assert {option.parameter for option in BATCH_OPTIONS} >= {"EDGE_SNAP", "SCALES", "OVERLAP", "SMOOTHING"}
    assert len({option.parameter for option in OPTIONS}) == len({option.flag for option in OPTIONS}) == len(OPTIONS)
    # Nothing given: the dataclass's config ('auto' and 0 stand for its None).
    assert config_with(ExtractConfig(), {option.field: option.to_config(getattr(single, option.dest))
                                         for option in OPTIONS}) == ExtractConfig()


def test_values_on_the_batch_command_line_reach_the_extract_config(monkeypatch, tmp_path):
    (tmp_path / "a.tif").write_bytes(b"")
    seen = {}

    def fake_run_batch(sources, output, config, hooks):
        seen["config"] = config
        return BatchResult(str(output), [], [])

    monkeypatch.setattr(batch_cli, "run_batch", fake_run_batch)
    assert batch_cli.main([str(tmp_path), "--out", str(tmp_path / "b.gpkg"), "--workers", "0", "--edge-snap", "2.5",
                           "--scales", "512", "768,1024", "--overlap", "0.25", "--smoothing", "2", "--batch-size", "8",
                           "--precision", "fp32", "--device", "cpu", "--scale", "decibel", "--polarisation", " VH ",
                           "--calibration-db", "-80", "--method", "paper", "--min-length", "30", "--water", "all",
                           "--band", "2", "--models", "m.json"]) == 0
    config = seen["config"]
    assert isinstance(config, BatchConfig) and config.workers == 0
    extract = config.extract
    assert (extract.edge_snap_px, extract.min_length_m, extract.water, extract.method) == (2.5, 30.0, "all", "paper")
    assert (extract.scale, extract.polarisation, extract.calibration_db) == ("decibel", "VH", -80.0)
    assert (extract.band, extract.models) == (2, ("m.json",))
    inference = extract.inference
    assert inference.scales == (512, 768, 1024) and inference.overlap == 0.25 and inference.smoothing_sigma == 2.0
    assert (inference.batch_size, inference.precision, inference.device) == (8, "fp32", "cpu")


@pytest.mark.parametrize("argument, message", [(["--overlap", "1.5"], "at most 0.9"),
                                               (["--scales", "16"], "at least 32"),
                                               (["--scales", "big"], "whole numbers"),
                                               (["--edge-snap", "far"], "invalid float value")])
def test_bad_values_are_refused_on_the_command_line_with_the_table_range(argument, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["scene.tif", "coast.gpkg", *argument])
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_option_values_as_the_config_takes_them():
    by_parameter = {option.parameter: option for option in OPTIONS}
    assert by_parameter["SCALES"].to_config("1024, 1280;1536") == (1024, 1280, 1536)
    assert by_parameter["SCALES"].to_config("") is None and by_parameter["SCALES"].to_config([]) is None
    assert by_parameter["BATCH_SIZE"].to_config(0) is None and by_parameter["POLARISATION"].to_config("  ") is None
    assert by_parameter["SCALE"].to_config("auto") is None  # detected, the dataclass's None
    with pytest.raises(InputError, match="SCALES"):
        by_parameter["SCALES"].to_config("1024,x")
    config = config_with(ExtractConfig(min_length_m=5.0), {"inference.overlap": 0.3, "water": "all"})
    assert (config.min_length_m, config.inference.overlap, config.water) == (5.0, 0.3, "all")


@pytest.fixture
def tide_method():
    """A method that gives its lines attributes of its own (the classical lines plus a tide and a pass)."""
    def run(context):
        lines = classical.METHOD.run(context)
        for line in lines:
            line.attributes.update(tide_m=np.float64(0.8), orbit=17, direction="ascending")
        return lines

    registry.register(Method(TIDE, "With tide (test)", "The classical lines with a tide.", run))
    yield TIDE
    registry.unregister(TIDE)


def layer_fields(path):
    dataset = ogr.Open(str(path))
    layer = dataset.GetLayerByName("coastline")
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(index).GetName() for index in range(definition.GetFieldCount())]
    rows = [{name: feature.GetField(name) for name in names} for feature in layer]
    return names, rows


def test_a_methods_own_attributes_reach_the_batch_geopackage(tide_method, scene_paths, tmp_path):
    output = tmp_path / "batch.gpkg"
    result = run_batch([str(scene_paths.image)], output, BatchConfig(ExtractConfig(method=tide_method), workers=0))
    assert not result.failed and result.done[0].lines
    names, rows = layer_fields(output)
    assert names == [name for name, _kind in LINE_FIELDS] + ["tide_m", "orbit", "direction"]
    assert all(row["tide_m"] == 0.8 and row["orbit"] == 17 and row["direction"] == "ascending" for row in rows)
    assert all(row["method"] == tide_method and row["length_m"] > 0 for row in rows)


def test_a_later_scene_adds_its_new_attributes_to_the_batch_layer(tmp_path):
    """The layer is made with the first scene's fields; a field a later scene brings is added, none is dropped."""
    output = tmp_path / "batch.gpkg"
    coords = np.array([[0.0, 0.0], [100.0, 0.0]])
    writer = BatchWriter(output)
    writer.write(SceneOutcome("a.tif", "a", "ok", lines=[(coords, {"scene": "a", "length_m": 100.0})]))
    writer.write(SceneOutcome("b.tif", "b", "ok", lines=[(coords, {"scene": "b", "length_m": 100.0, "tide_m": 1.5})]))
    writer.close()
    names, rows = layer_fields(output)
    assert names == [name for name, _kind in LINE_FIELDS] + ["tide_m"]
    assert [(row["scene"], row["tide_m"]) for row in rows] == [("a", None), ("b", 1.5)]


def test_the_line_schema_keeps_extra_attributes_after_the_known_ones():
    attributes = [{"scene": "s", "flag": None}, {"flag": 3, "note": "x", "confidence": np.float32(0.5)}]
    fields = line_fields(attributes)
    assert fields == LINE_FIELDS + (("flag", "int"), ("note", "str"))
    assert line_values(attributes[1], fields)[-2:] == [3, "x"]
    assert type(line_values(attributes[1], fields)[4]) is float  # numpy numbers as plain Python for OGR and QGIS
