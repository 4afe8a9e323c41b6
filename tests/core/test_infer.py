"""The inference engine end to end on CPU: exact placement with a known network, OOM back-off, cancel."""


import numpy as np
import pytest
import torch

from sar_coastline.core.config import ExtractConfig, InferenceConfig
from sar_coastline.core.errors import Cancelled
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.inference.predict import EnsemblePredictor
from sar_coastline.core.inference.stream import map_stride, prefetch, with_map_stride
from sar_coastline.core.io.raster_reader import open_scene
from sar_coastline.core.io.scene import array_scene
from sar_coastline.core.methods import orientation_free, paper
from sar_coastline.core.methods.models import run_models
from sar_coastline.core.pipeline.extract import extract
from sar_coastline.models.modelfile import create_model, save_model, write_manifest
from testdata import SIGMOID_META, SOFTMAX_META, ThresholdNet, loaded, two_halves_dn, write_raster

RULES = {"orientation_free": orientation_free.rule, "paper": paper.rule}


def run_engine(scene, predictor, method="orientation_free", sides=SOFTMAX_META.scales, hooks=None, **inference):
    config = ExtractConfig(method=method, inference=InferenceConfig(**inference), min_length_m=30)
    inference = with_map_stride(config.inference, sides, predictor.model_side)
    return run_models(scene, config, inference, predictor, sides, hooks or RunHooks(), RULES[method])


def halves_scene(coast_col=100, rows=300, cols=256):
    """Portrait, with a north-south coast: the paper's rule reads it row by row."""
    dn = two_halves_dn(rows, cols, coast_col=coast_col)
    return array_scene(dn, (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0), name="halves")


@pytest.mark.parametrize("method", ["orientation_free", "paper"])
def test_engine_places_a_straight_coast(method):
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device="cpu", batch_size=8)
    lines = run_engine(halves_scene(), predictor, method)
    assert len(lines) == 1
    xs = lines[0].coords[:, 0]
    assert np.abs(xs - (500_000.0 + 100 * 3.0)).max() < 4.5  # within 1.5 px (sub-cell, stride 2)
    assert lines[0].length_m > 0.8 * 300 * 3
    confidence = lines[0].attributes["confidence"]
    if method == "paper":
        assert confidence == 1.0  # the paper rule grades no vertex: its spread is in uncertainty_m
    else:
        # 1 - 2 x the spread of P(land) over tiles and scales at the 0.5 contour. The 128 px crops (2:1, on the
        # stride grid) agree cell for cell; the 160 and 192 px crops cut the speckled edge differently from tile to
        # tile (0.47 and 0.42 each alone, measured): about a half. 1 would mean the spread was lost, 0
        # that the merged mean square of P(land) was taken for its variance.
        assert 0.35 < confidence < 0.65


def test_a_scene_read_one_to_one_gets_a_one_pixel_map():
    assert map_stride([128, 192], 64) == 2 and map_stride([64, 96], 64) == 1 and map_stride([127], 64) == 1
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device="cpu", batch_size=8)
    hooks = RunHooks()
    lines = run_engine(halves_scene(), predictor, sides=[64], hooks=hooks, scales=(64,))
    assert any("map stride 1 px" in note for note in hooks.notes)
    offsets = np.abs(lines[0].coords[:, 0] - (500_000.0 + 100 * 3.0))
    assert len(lines) == 1 and offsets.max() < 4.5 and offsets.mean() < 1.0
    # One member read 1:1 by a per-pixel network: every tile over a pixel gives it the same P(land), so the
    # variance is 0 up to float rounding of mean square minus squared mean (confidence 1 at 3 decimals).
    assert lines[0].attributes["confidence"] >= 0.999 and lines[0].attributes["uncertainty_m"] <= 0.01


def test_the_merger_holds_one_tile_of_rows_when_a_batch_spans_several(monkeypatch):
    from sar_coastline.core.inference import tiling

    grown = []
    ensure_rows = tiling.StripMerger._ensure_rows

    def watched(merger, end):
        before = merger.weights.shape[0]
        ensure_rows(merger, end)
        if merger.weights.shape[0] != before:
            grown.append(merger.weights.shape[0])

    monkeypatch.setattr(tiling.StripMerger, "_ensure_rows", watched)
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device="cpu", batch_size=64)
    lines = run_engine(halves_scene(rows=1200), predictor)  # a batch of 64 holds every tile row of the scene
    assert len(lines) == 1 and lines[0].length_m > 0.8 * 1200 * 3
    assert grown == []  # sized for the tallest tile at the start, never grown


def test_oom_halves_the_batch_and_gives_the_same_result():
    reference = run_engine(halves_scene(), EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], "cpu", batch_size=8))
    network = ThresholdNet(fail_above=2)
    logged = []
    predictor = EnsemblePredictor([(loaded(network), 1.0)], device="cpu", batch_size=8, log=logged.append)
    lines = run_engine(halves_scene(), predictor)
    assert "GPU out of memory: batch size lowered to 2." in logged and max(network.calls[-3:]) <= 2
    assert predictor.batch_size == 8  # lowered for that scene only: the predictor serves the next one afresh
    np.testing.assert_allclose(lines[0].coords, reference[0].coords)


def test_ensemble_spread_gives_uncertainty():
    shifted = ThresholdNet()
    shifted.forward = lambda x: ThresholdNet.forward(shifted, torch.roll(x, 4, dims=3))  # sees the coast 4 px over
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0), (loaded(shifted), 1.0)], "cpu", batch_size=8)
    lines = run_engine(halves_scene(), predictor)
    single = run_engine(halves_scene(), EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], "cpu", batch_size=8))
    assert lines[0].attributes["uncertainty_m"] > single[0].attributes["uncertainty_m"] + 1.0
    # The members put the edge 8-12 scene px apart (4 model px at crops of 128-192 px): between their edges one
    # says land (P about 1), the other sea (P about 0), so at the fused 0.5 contour the spread of P(land) is
    # about 0.5 and the confidence 1 - 2 x 0.5 about 0 (the single model: about a half).
    assert lines[0].attributes["confidence"] < 0.1 and single[0].attributes["confidence"] > 0.35


def test_prefetch_passes_items_and_errors():
    assert list(prefetch(iter(range(5)))) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise ValueError("read failed")

    with pytest.raises(ValueError, match="read failed"):
        list(prefetch(failing()))


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(1)
    softmax = save_model(folder / "softmax.safetensors", create_model(SOFTMAX_META), SOFTMAX_META)
    sigmoid = save_model(folder / "sigmoid.safetensors", create_model(SIGMOID_META), SIGMOID_META)
    return folder, write_manifest(folder / "ensemble.json", [(softmax, 0.6), (sigmoid, 0.4)])


def test_real_model_files_run_end_to_end_and_write_probabilities(tmp_path, tiny_models):
    _folder, manifest = tiny_models
    raster = write_raster(tmp_path / "halves.tif", two_halves_dn(200, 260))
    probabilities = tmp_path / "probabilities.tif"
    for method in ("orientation_free", "paper"):
        result = extract(str(raster), ExtractConfig(method=method, models=(str(manifest),),
                                                    inference=InferenceConfig(device="cpu", batch_size=4),
                                                    probabilities_path=str(probabilities), min_length_m=0))
        assert result.method == method
        assert result.lines, "random tiny models still draw lines on this scene; none means the engine lost them"
        assert {line.attributes["models"] for line in result.lines} == {"softmax, sigmoid"}
        assert any(note.startswith("Edge snap") for note in result.notes)
    written = open_scene(probabilities, band=2)
    assert (written.width, written.height) == (130, 100)  # stride 2
    assert not list(tmp_path.glob(".*partial"))


def test_tiles_without_data_are_counted_apart(tmp_path, tiny_models):
    _folder, manifest = tiny_models
    dn = two_halves_dn(256, 512)
    dn[:, 300:] = 0  # the east side is no data: its tiles are skipped, not model work
    result = extract(str(write_raster(tmp_path / "half_empty.tif", dn)),
                     ExtractConfig(method="orientation_free", models=(str(manifest),),
                                   inference=InferenceConfig(device="cpu", overlap=0.0, scales=(128,))))
    assert result.figures["tiles"] == 8 and result.figures["tiles_with_data"] == 6


def test_cancel_stops_inference_and_leaves_no_file(tmp_path, tiny_models):
    _folder, manifest = tiny_models
    raster = write_raster(tmp_path / "halves.tif", two_halves_dn(256, 256))
    probabilities = tmp_path / "probabilities.tif"
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        extract(str(raster), ExtractConfig(method="orientation_free", models=(str(manifest),),
                                           probabilities_path=str(probabilities),
                                           inference=InferenceConfig(device="cpu", batch_size=1)),
                RunHooks(cancel=cancel))
    assert not probabilities.exists() and not list(tmp_path.glob(".*partial"))


def test_command_line_writes_geopackage_and_geojson(tmp_path, tiny_models, capsys):
    import json

    from osgeo import ogr

    from sar_coastline.core.pipeline.cli import main

    raster = write_raster(tmp_path / "halves.tif", two_halves_dn(200, 200, coast_col=90))
    assert main([str(raster), str(tmp_path / "coast.geojson"), "--method", "classical"]) == 0
    features = json.loads((tmp_path / "coast.geojson").read_text())["features"]
    assert len(features) == 1 and features[0]["properties"]["method"] == "classical"
    _folder, manifest = tiny_models
    assert main([str(raster), str(tmp_path / "coast.gpkg"), "--models", str(manifest), "--device", "cpu",
                 "--method", "orientation_free", "--min-length", "0"]) == 0
    dataset = ogr.Open(str(tmp_path / "coast.gpkg"))
    assert dataset.GetLayer(0).GetSpatialRef().GetAuthorityCode(None) == "32633"
    assert main([str(tmp_path / "missing.tif"), str(tmp_path / "x.gpkg")]) == 2
    assert "Cannot open" in capsys.readouterr().err


def test_model_inputs_log_and_linear():
    from sar_coastline.core.inference.inputs import model_input

    db = torch.tensor([-20.0, float("nan"), 40.0])  # -20 dB is DN 1412.5 with CF -83
    torch.testing.assert_close(model_input(db, "log", (-30.0, 5.0)), torch.tensor([10 / 35, 0.0, 1.0]))
    torch.testing.assert_close(model_input(db, "linear", (-30.0, 5.0)), torch.tensor([1412.54 / 65535, 0.0, 1.0]),
                               atol=1e-6, rtol=1e-4)


def test_scene_normalization_removes_a_calibration_gain():
    from sar_coastline.core.inference.inputs import normalize_db, scene_db_percentiles

    scene = halves_scene()
    brighter = array_scene((scene.array.astype(np.float64) * 2).clip(1, 65535).astype(np.uint16),
                           scene.geotransform)  # +6 dB
    a = normalize_db(scene.read_db(), scene_db_percentiles(scene))
    b = normalize_db(brighter.read_db(), scene_db_percentiles(brighter))
    np.testing.assert_allclose(a, b, atol=0.05)


def test_an_all_nodata_scene_is_refused_by_the_model_path(tiny_models):
    from sar_coastline.core.errors import InputError

    _folder, manifest = tiny_models
    empty = array_scene(np.zeros((200, 200), np.uint16), (0.0, 3.0, 0.0, 0.0, 0.0, -3.0), name="empty")
    with pytest.raises(InputError, match="only no-data"):
        extract(empty, ExtractConfig(method="orientation_free", models=(str(manifest),),
                                     inference=InferenceConfig(device="cpu")))


def test_device_rows_cut_the_same_windows_as_reading_each_one():
    from sar_coastline.core.inference.stream import DeviceRows
    from sar_coastline.core.inference.tiling import tile_grid
    from sar_coastline.core.io.scene import read_padded_db

    rng = np.random.default_rng(3)
    dn = rng.integers(0, 4000, (300, 230)).astype(np.uint16)  # zeros are no-data
    scene = array_scene(dn, (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0), name="noise")
    rows = DeviceRows(scene, "cpu", chunk_rows=32)
    tiles = tile_grid(scene.width, scene.height, [64, 96, 320], 0.5, align=2)
    for tile in tiles:
        np.testing.assert_array_equal(rows.window(tile).numpy(), read_padded_db(scene, tile.col, tile.row, tile.side))
    assert rows.top == tiles[-1].row and rows.count == scene.height - rows.top  # rows above were dropped
    rows.close()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_engine_merges_the_same_map_as_the_cpu():
    from sar_coastline.core.inference.stream import stream_probabilities

    def merged(device):
        predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device, precision="fp32", batch_size=8)
        strips = stream_probabilities(halves_scene(), predictor, InferenceConfig(), SOFTMAX_META.scales,
                                      lambda share: None, lambda: None)
        return np.concatenate([strip for _first, strip in strips], axis=1)

    np.testing.assert_allclose(merged("cuda"), merged("cpu"), atol=1e-4)


@pytest.mark.parametrize("side", [16, 64])
def test_resize_keeps_no_data_apart_when_shrinking_and_enlarging(side):
    from sar_coastline.core.inference.inputs import resize_area

    window = torch.full((1, 1, 32, 32), -12.0)
    window[..., :, :8] = float("nan")  # the left quarter is no data
    resized = resize_area(window, side)[0, 0]
    quarter = side // 4
    assert torch.isnan(resized[:, :quarter - 1]).all()
    assert torch.allclose(resized[:, quarter + 1:], torch.tensor(-12.0))  # no NaN and no dimming next to it


def test_gpu_out_of_memory_outside_the_predictor_is_explained(monkeypatch):
    from sar_coastline.core.errors import CoastlineError
    from sar_coastline.core.inference import stream as infer

    def out_of_memory(*args):
        raise torch.cuda.OutOfMemoryError("simulated")

    monkeypatch.setattr(infer.StripMerger, "add", out_of_memory)
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device="cpu", batch_size=8)
    with pytest.raises(CoastlineError, match="choose DEVICE cpu"):
        run_engine(halves_scene(), predictor)


@pytest.mark.parametrize("trained, expected", [
    ({"pixel_size_m": 3.0, "pixel_size_range_m": (3.0, 40.0)}, "read at the models' own crop sides (128, 160, 192 px)"),
    ({"pixel_size_m": 3.0}, "crop sides follow the ground resolution (38, 48, 58 px)"),
])
def test_crop_sides_come_from_the_trained_pixel_sizes_and_are_logged(tmp_path, trained, expected):
    from dataclasses import replace

    torch.manual_seed(1)
    meta = replace(SOFTMAX_META, **trained)
    model = save_model(tmp_path / "model.safetensors", create_model(meta), meta)
    raster = write_raster(tmp_path / "halves_10m.tif", two_halves_dn(100, 128), pixel_size=10.0)
    hooks = RunHooks()
    extract(str(raster), ExtractConfig(method="orientation_free", models=(str(model),),
                                       inference=InferenceConfig(device="cpu", batch_size=4)), hooks)
    assert any("this scene has 10 m: " + expected in note for note in hooks.notes), hooks.notes
