"""The coarse-to-fine method: coarse cells, the context inputs, the per-cell maps, the fine stage's line, the
context model file and the fallback."""


import numpy as np
import pytest

from sar_coastline.core.config import ExtractConfig, InferenceConfig
from sar_coastline.core.errors import InputError
from sar_coastline.core.evaluation.metric import evaluate
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.imaging.coarse import CoarseCells, block_mean, cells_of, coarse_factor, scene_cells
from sar_coastline.core.inference.context import ContextInputs, context_inputs, land_probability
from sar_coastline.core.io.scene import array_scene
from sar_coastline.core.methods import coarse_to_fine
from sar_coastline.core.methods.contract import MethodContext
from sar_coastline.core.methods.registry import COARSE_TO_FINE
from sar_coastline.core.pipeline.extract import extract
from sar_coastline.models.context import (
    CHANNELS,
    ContextMeta,
    create_network,
    load_context_model,
    read_context_meta,
    save_context_model,
)
from sar_coastline.models.modelfile import ModelFileError

GEOTRANSFORM = (500_000.0, 10.0, 0.0, 6_000_000.0, 0.0, -10.0)


def dn_of(db: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.sqrt(np.power(10.0, (db + 83.0) / 10.0))), 1, 65535).astype(np.uint16)


def test_coarse_factor_is_the_coarse_pixel_in_whole_scene_pixels():
    assert [coarse_factor(size, 40.0) for size in (3.0, 10.0, 20.0, 40.0, 60.0)] == [13, 4, 2, 1, 1]


def test_cells_hold_the_multilook_the_mean_db_and_the_valid_share():
    db = np.array([[-10.0, -20.0, -5.0], [-10.0, np.nan, -5.0]], np.float32)
    intensity_db, mean_db, valid = cells_of(db, 2)
    assert intensity_db.shape == (1, 2)
    assert intensity_db[0, 0] == pytest.approx(10 * np.log10((0.1 + 0.01 + 0.1) / 3), abs=1e-5)
    assert mean_db[0, 0] == pytest.approx(-40.0 / 3, abs=1e-5)
    assert valid.tolist() == [[0.75, 0.5]]  # the edge cell is half outside the scene: no data there
    assert mean_db[0, 1] == pytest.approx(-5.0)
    assert block_mean(np.array([[1.0, np.nan], [3.0, 5.0]], np.float32), 2)[0, 0] == pytest.approx(3.0)


def test_streamed_cells_equal_the_whole_array_cells():
    rng = np.random.default_rng(0)
    dn = rng.integers(0, 3000, (150, 97)).astype(np.uint16)
    scene = array_scene(dn, GEOTRANSFORM)
    streamed = scene_cells(scene, 4, strip_pixels=97 * 9)  # strips of 8 rows: two cell rows each
    whole = cells_of(scene.read_db(), 4)
    for mine, expected in zip((streamed.intensity_db, streamed.mean_db, streamed.valid), whole):
        np.testing.assert_allclose(mine, expected, rtol=1e-5, equal_nan=True)


def test_context_inputs_mark_a_missing_second_band_and_blank_no_data():
    intensity = np.full((4, 4), -20.0, np.float32)
    intensity[:, 2:] = -8.0
    valid = np.ones((4, 4), np.float32)
    valid[0, 0] = 0.0
    cells = CoarseCells(intensity, intensity - 2.0, valid, 4)
    single = context_inputs(cells)
    assert single.shape == (len(CHANNELS), 4, 4)
    assert not single[4:].any()  # no second band: its channels and its flag are 0
    assert not single[:, 0, 0].any()  # a no-data cell is 0 everywhere
    assert single[0, 1, 3] > single[0, 1, 0]  # land brighter than sea
    # Nothing absolute: a product in another scale (the real chip reads about +35 dB) gives the same inputs.
    shifted = CoarseCells(intensity + 55.0, intensity + 53.0, valid, 4)
    np.testing.assert_allclose(context_inputs(shifted), single, atol=1e-5)
    dual = context_inputs(cells, CoarseCells(intensity - 7.0, intensity - 9.0, valid, 4))
    assert dual[6, 1, 1] == 1.0 and dual[6, 0, 0] == 0.0


def test_window_inputs_equal_the_whole_scene_inputs_cut():
    rng = np.random.default_rng(4)
    cells = CoarseCells(rng.normal(-15, 5, (40, 50)).astype(np.float32), rng.normal(-17, 5, (40, 50)).astype(
        np.float32), rng.uniform(0, 1, (40, 50)).astype(np.float32), 4)
    second = CoarseCells(cells.intensity_db - 7, cells.mean_db - 7, cells.valid, 4)
    lazy = ContextInputs(cells, second)
    np.testing.assert_array_equal(lazy.window(slice(5, 30), slice(12, 50)), lazy.full()[:, 5:30, 12:50])
    assert lazy.shape == lazy.full().shape


def test_coarse_maps_put_the_threshold_half_way_and_the_fine_weight_at_the_boundary():
    mean_db = np.full((20, 20), -20.0, np.float32)
    mean_db[:, 10:] = -6.0
    cells = CoarseCells(mean_db + 2.0, mean_db, np.ones((20, 20), np.float32), 4)
    probability = np.where(mean_db > -13, 0.95, 0.05).astype(np.float32)
    maps = coarse_to_fine.coarse_maps(cells, probability, band_cells=2.0)
    assert maps["threshold"][10, 9] == pytest.approx(-13.0, abs=0.5)
    assert maps["weight"][10, 9] == 1.0 and maps["weight"][10, 10] == 1.0
    assert maps["weight"][10, 0] == 0.0 and maps["weight"][10, 19] == 0.0  # far from the boundary: no full read
    flat = coarse_to_fine.coarse_maps(CoarseCells(mean_db * 0 - 20, mean_db * 0 - 20, cells.valid, 4), probability,
                                      band_cells=2.0)
    assert not flat["weight"].any()  # no contrast, no edge: the coarse decision alone
    unsure = probability.copy()
    unsure[:, 2] = 0.5  # a channel the coarse pixel smears, far from the boundary: the image decides there too
    maps = coarse_to_fine.coarse_maps(cells, unsure, band_cells=2.0)
    assert maps["weight"][10, 2] == 1.0 and maps["weight"][10, 1] > 0.0 and maps["weight"][10, 5] == 0.0


def test_cell_grid_interpolates_between_cell_centres():
    grid = coarse_to_fine.CellGrid(4, {"a": np.array([[0.0, 4.0]], np.float32)})
    values = grid.window("a", 0, 0, 8, 1)[0]
    assert values[0] == 0.0 and values[-1] == 4.0  # clamped beyond the outer centres
    assert values[2] == pytest.approx(0.5) and values[5] == pytest.approx(3.5)


def coast_db() -> np.ndarray:
    """400 x 480 px: sea (-20 dB) left of a straight coast at column 300, land (-6 dB) right of it."""
    db = np.full((400, 480), -20.0, np.float32)
    db[:, 300:] = -6.0
    return db


def speckled_scene(db: np.ndarray, seed: int):
    """A 4-look scene of the noise-free dB `db`."""
    intensity = np.power(10.0, db / 10.0) * np.random.default_rng(seed).gamma(4.0, 0.25, db.shape)
    return array_scene(dn_of(10 * np.log10(intensity)), GEOTRANSFORM)


def bright_patch_scene():
    """Land on the right (-6 dB) of a straight coast at column 300; a sea patch as bright as land touching it."""
    db = coast_db()
    rows, cols = np.mgrid[0:400, 0:480]
    patch = (np.hypot(rows - 200, cols - 240) < 70) & (cols < 300)
    db[patch] = -7.0
    land = np.zeros(db.shape, bool)
    land[:, 300:] = True
    return speckled_scene(db, 3), land


def test_the_fine_stage_draws_the_true_coast_and_leaves_a_bright_sea_patch_out():
    scene, land = bright_patch_scene()
    factor = 4
    cells = scene_cells(scene, factor)
    # The context decision a good model gives: the true land share per cell (the patch is sea).
    probability = block_mean(land.astype(np.float32), factor)
    maps = coarse_to_fine.coarse_maps(cells, probability, band_cells=2.0)
    context = MethodContext(scene, ExtractConfig(method=COARSE_TO_FINE), RunHooks())
    lines, read_share = coarse_to_fine.fine_lines(context, coarse_to_fine.CellGrid(factor, maps), "oracle")
    lines = context.sea_step(lines)
    xs = np.concatenate([line.coords[:, 0] for line in lines])
    coast_x = GEOTRANSFORM[0] + 300 * GEOTRANSFORM[1]
    assert np.abs(xs - coast_x).max() < 3 * GEOTRANSFORM[1]  # on the edge, not around the patch (140 m across)
    # Only the band around the coast is read at full resolution: the one tile of columns (256-383) it falls in.
    assert read_share == pytest.approx(coarse_to_fine.READ_TILE_PX / 480)
    rows = 1 + np.arange(399)
    truth = [np.column_stack([np.full(rows.size, coast_x), GEOTRANSFORM[3] - rows * 10.0])]
    assert evaluate([line.coords for line in lines], truth)[0].score < 5.0


def test_a_bright_patch_is_outlined_when_the_context_takes_it_for_land():
    """The same fine stage with a threshold-like context (the patch as land) outlines it: the context decides."""
    scene, land = bright_patch_scene()
    cells = scene_cells(scene, 4)
    probability = (cells.intensity_db > -13).astype(np.float32)
    maps = coarse_to_fine.coarse_maps(cells, probability, band_cells=2.0)
    context = MethodContext(scene, ExtractConfig(method=COARSE_TO_FINE), RunHooks())
    lines, _share = coarse_to_fine.fine_lines(context, coarse_to_fine.CellGrid(4, maps), "threshold")
    xs = np.concatenate([line.coords[:, 0] for line in lines])
    assert xs.min() < GEOTRANSFORM[0] + 200 * GEOTRANSFORM[1]  # around the patch, 100 px off the coast


def test_a_dark_channel_the_context_calls_land_is_drawn_from_the_image():
    """A channel as dark as the sea cut into the land, which the context calls land at 0.9 (unsure: the image decides
    there): its dark cells must not set the land level, or no contrast is left and the coarse decision draws land
    across the channel's mouth."""
    db = coast_db()
    db[160:240, 300:440] = -20.0
    scene = speckled_scene(db, 5)
    factor = 4
    cells = scene_cells(scene, factor)
    probability = block_mean((db > -13).astype(np.float32), factor)
    probability[40:60, 75:110] = 0.9
    maps = coarse_to_fine.coarse_maps(cells, probability, band_cells=3.0)
    assert maps["weight"][50, 90] == 1.0 and maps["threshold"][50, 90] == pytest.approx(-13.0, abs=1.5)
    context = MethodContext(scene, ExtractConfig(method=COARSE_TO_FINE), RunHooks())
    lines, _share = coarse_to_fine.fine_lines(context, coarse_to_fine.CellGrid(factor, maps), "dark channel")
    xy = np.concatenate([line.coords for line in lines])
    cols, rows = (xy[:, 0] - GEOTRANSFORM[0]) / 10.0, (GEOTRANSFORM[3] - xy[:, 1]) / 10.0
    assert np.abs(cols - 440).min() < 3  # the line reaches the channel's head
    across_mouth = (np.abs(cols - 300) < 3) & (rows > 170) & (rows < 230)
    assert not across_mouth.any()
    # Where the model is sure (radar-dark land), the dark cells set the land level as before: the model decides.
    probability[40:60, 75:110] = 0.99
    assert coarse_to_fine.coarse_maps(cells, probability, band_cells=3.0)["weight"][50, 90] == 0.0


def test_a_bright_front_the_context_is_confident_is_sea_is_not_drawn_from_the_image():
    """A current front, a bright streak 3 px wide in the sea far from the coast: where the context calls it water
    with confidence (P 0.15) the image is not asked and no line goes round it; where it is unsure (P 0.3), the
    image decides, as at a narrow spit of land."""
    db = coast_db()
    db[100:300, 120:123] = -7.0
    scene = speckled_scene(db, 7)
    factor = 4
    cells = scene_cells(scene, factor)
    land = np.zeros(db.shape, np.float32)
    land[:, 300:] = 1.0
    probability = block_mean(land, factor)
    context = MethodContext(scene, ExtractConfig(method=COARSE_TO_FINE), RunHooks())
    for front_probability, outlined in ((0.15, False), (0.3, True)):
        probability[25:75, 30] = front_probability
        maps = coarse_to_fine.coarse_maps(cells, probability, band_cells=3.0)
        lines, _share = coarse_to_fine.fine_lines(context, coarse_to_fine.CellGrid(factor, maps), "front")
        cols = np.concatenate([(line.coords[:, 0] - GEOTRANSFORM[0]) / 10.0 for line in lines])
        assert (np.abs(cols - 121.5) < 5).any() == outlined
        assert (np.abs(cols - 300) < 3).any()  # the coast is drawn either way


def test_a_dual_pol_raster_gives_the_context_co_pol_first_whichever_band_draws_the_line(tmp_path):
    from sar_coastline.core.io.raster_reader import open_scene
    from sar_coastline.synthetic.scenes import generate_scene, write_scene

    synthetic = generate_scene(128, 128, 21, "rocky", 10.0, dual_pol=True)
    path = write_scene(synthetic, tmp_path, "dual").image
    co_band = 1 if synthetic.polarisation == "co" else 2
    for band in (1, 2):
        scene = open_scene(path, band=band)
        cells = scene_cells(scene, 4)
        first, second = coarse_to_fine.context_bands(scene, cells, RunHooks())
        assert (first is cells) == (band == co_band) and (second is cells) == (band != co_band)
        assert np.nanmedian(first.intensity_db) > np.nanmedian(second.intensity_db)


@pytest.fixture(scope="module")
def tiny_context_model(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    meta = ContextMeta(decoder_channels=(16, 16, 8, 8), tile_cells=64)
    path = tmp_path_factory.mktemp("context") / "context.safetensors"
    save_context_model(path, create_network(meta), meta)
    return path


def test_context_model_file_round_trip(tiny_context_model):
    meta, network = load_context_model(tiny_context_model)
    assert meta == read_context_meta(tiny_context_model) and meta.decoder_channels == (16, 16, 8, 8)
    inputs = np.random.default_rng(1).normal(size=(len(CHANNELS), 70, 90)).astype(np.float32)
    probability = land_probability(network, inputs, meta.tile_cells, 16)
    assert probability.shape == (70, 90) and ((probability > 0) & (probability < 1)).all()


def test_with_test_time_flips_a_mirrored_scene_gives_the_mirrored_map(tiny_context_model):
    _meta, network = load_context_model(tiny_context_model)
    inputs = np.random.default_rng(2).normal(size=(len(CHANNELS), 48, 64)).astype(np.float32)
    plain = land_probability(network, inputs, 64, 16)
    flipped = land_probability(network, inputs, 64, 16, flips=True)
    mirrored = land_probability(network, np.ascontiguousarray(inputs[:, :, ::-1]), 64, 16, flips=True)
    np.testing.assert_allclose(mirrored[:, ::-1], flipped, atol=1e-5)
    assert not np.allclose(plain, flipped, atol=1e-4)  # without flips a random network is not mirror-symmetric


def test_a_file_that_is_not_a_context_model_is_refused(tmp_path, tiny_context_model):
    from safetensors.torch import load_file, save_file

    plain = tmp_path / "plain.safetensors"
    save_file(load_file(str(tiny_context_model)), str(plain))  # the weights without the metadata
    with pytest.raises(ModelFileError, match="not a context model"):
        read_context_meta(plain)
    with pytest.raises(InputError, match="None of MODELS is a context model"):
        coarse_to_fine.context_model(ExtractConfig(method=COARSE_TO_FINE, models=(str(plain),)))


def test_without_a_context_model_the_classical_method_runs_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(coarse_to_fine, "DEFAULT_CONTEXT_MODEL", tmp_path / "missing.safetensors")
    scene, _land = bright_patch_scene()
    result = extract(scene, ExtractConfig(method=COARSE_TO_FINE))
    assert result.lines and any("classical method ran instead" in warning for warning in result.warnings)


def test_the_method_runs_end_to_end_with_a_given_context_model(tiny_context_model):
    scene, _land = bright_patch_scene()
    result = extract(scene, ExtractConfig(method=COARSE_TO_FINE, models=(str(tiny_context_model),),
                                          inference=InferenceConfig(device="cpu")))
    assert result.method == COARSE_TO_FINE
    assert result.figures["coarse_pixel_m"] == 40.0 and result.figures["band_half_width_m"] == 120.0
    assert 0.0 <= result.figures["full_resolution_share"] <= 1.0
    assert result.figures["context_device"] == "cpu"
    assert any("Coarse to fine" in note and "on the CPU" in note for note in result.notes)


def test_a_gpu_out_of_memory_runs_the_context_model_on_the_cpu_and_says_so(monkeypatch, tiny_context_model):
    import torch

    asked = []

    def land_probability_on(network, inputs, tile, multiple, device="cpu", hooks=None, flips=False):
        asked.append(device)
        if device == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory.")
        return land_probability(network, inputs, tile, multiple, device, hooks, flips)

    monkeypatch.setattr(coarse_to_fine, "pick_device", lambda requested, log: "cuda")
    monkeypatch.setattr(coarse_to_fine, "land_probability", land_probability_on)
    scene, _land = bright_patch_scene()
    result = extract(scene, ExtractConfig(method=COARSE_TO_FINE, models=(str(tiny_context_model),)))
    assert asked == ["cuda", "cpu"] and result.figures["context_device"] == "cpu"
    assert any("ran out of memory" in warning for warning in result.warnings)
    cpu = extract(scene, ExtractConfig(method=COARSE_TO_FINE, models=(str(tiny_context_model),),
                                       inference=InferenceConfig(device="cpu")))
    assert [line.coords.tolist() for line in result.lines] == [line.coords.tolist() for line in cpu.lines]


@pytest.mark.gpu
def test_on_the_gpu_the_context_model_gives_the_cpu_map(tiny_context_model):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    _meta, network = load_context_model(tiny_context_model)
    inputs = np.random.default_rng(3).normal(size=(len(CHANNELS), 96, 80)).astype(np.float32)
    on_cpu = land_probability(network, inputs, 64, 16, "cpu", flips=True)
    on_gpu = land_probability(network, inputs, 64, 16, "cuda", flips=True)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-4)


