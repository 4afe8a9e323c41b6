"""Training the context model: examples from generated scenes, crops, the loss, and a run that resumes."""

import dataclasses

import numpy as np
import pytest

from sar_coastline.core.errors import InputError, OutputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.models.context import CHANNELS, ContextMeta, load_context_model, read_context_meta
from sar_coastline.training import context as training


def test_a_scene_example_holds_inputs_and_the_land_share_per_cell():
    inputs, target = training.scene_example(7, 10.0, 160, "rocky", hard=True, dual_pol=True, coarse_pixel_m=40.0)
    assert inputs.shape == (len(CHANNELS), 40, 40) and target.shape == (40, 40)
    known = np.isfinite(target)
    assert known.any() and ((target[known] >= 0) & (target[known] <= 1)).all()
    assert (inputs[6][known] == 1).all()  # the dual-pol band is there and flagged
    single, _target = training.scene_example(7, 10.0, 160, "rocky", hard=False, dual_pol=False, coarse_pixel_m=40.0)
    assert not single[6].any()


def test_the_stream_depends_only_on_its_index():
    recipe = training.ContextRecipe()
    first = training.drawn_example(3, 555, recipe, 40.0)
    again = training.drawn_example(3, 555, recipe, 40.0)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_a_resumed_run_refills_the_buffer_an_unbroken_run_holds():
    buffer = []
    for step in range(6):  # an unbroken run with a buffer of 3: scene 0 first, then one new scene a step
        if step == 0:
            buffer.append(0)
        assert list(training.buffer_before(step, 3)) == buffer[-3:]
        buffer.append(step + 1)


def test_a_crop_pads_a_small_scene_with_no_data():
    rng = np.random.default_rng(0)
    inputs = np.ones((len(CHANNELS), 10, 12), np.float32)
    target = np.zeros((10, 12), np.float32)
    crop_inputs, crop_target = training.random_crop(rng, inputs, target, 16)
    assert crop_inputs.shape == (len(CHANNELS), 16, 16)
    assert np.isfinite(crop_target).sum() == 120 and crop_inputs.sum() == 120 * len(CHANNELS)


def test_the_loss_ignores_no_data_cells():
    torch = pytest.importorskip("torch")
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, float("nan")], [0.0, float("nan")]]]])
    assert float(training.masked_loss(logits, target)) == pytest.approx(np.log(2.0), abs=1e-6)


@pytest.fixture
def meta(monkeypatch):
    """A tiny context network, trained on small scenes of 10-40 m: runs of a few steps in seconds."""
    monkeypatch.setattr(training, "SIDE_RANGE_PX", (96, 128))
    monkeypatch.setattr(training, "PIXEL_SIZES_M", (10.0, 20.0, 40.0, 40.0))
    return ContextMeta(decoder_channels=(16, 16, 8, 8), tile_cells=64)


def test_a_stopped_run_resumes_from_its_checkpoint(tmp_path, meta):
    recipe = training.ContextRecipe(steps=4, batch_size=2, crop_cells=32, buffer_scenes=2, checkpoint_every=2,
                                    validation_scenes=1)
    notes = []
    stopping = RunHooks(progress=lambda percent: notes.append(percent))

    class Stop(Exception):
        pass

    def stop_half_way(percent):
        if percent >= 50:
            raise Stop()

    with pytest.raises(Stop):
        training.train(tmp_path, recipe, meta, RunHooks(progress=stop_half_way))
    assert (tmp_path / training.CHECKPOINT).exists()
    path = training.train(tmp_path, recipe, meta, stopping)
    log = [note for note in stopping.notes if note.startswith("Resumed")]
    assert log == ["Resumed from context_checkpoint.safetensors at step 2 of 4."]
    assert notes[0] == pytest.approx(75.0)  # it went on with step 3
    saved = read_context_meta(path)
    assert saved.provenance["trained_steps"] in (2, 4) and "cell_error" in saved.validation


def test_a_later_stage_starts_from_an_earlier_model_on_unseen_scenes(tmp_path, meta):
    torch = pytest.importorskip("torch")
    recipe = training.ContextRecipe(steps=1, batch_size=2, crop_cells=32, buffer_scenes=1, checkpoint_every=1,
                                    validation_scenes=1)
    earlier = training.train(tmp_path / "one", recipe, meta, RunHooks())
    frozen = dataclasses.replace(recipe, learning_rate=0.0, first_scene=50)
    later = training.train(tmp_path / "two", frozen, meta, RunHooks(), init_from=earlier)
    learnt = {name: value for name, value in load_context_model(earlier)[1].state_dict().items()
              if "running" not in name and "batches" not in name}
    kept = load_context_model(later)[1].state_dict()
    assert all(torch.equal(kept[name], value) for name, value in learnt.items())  # lr 0: the earlier weights
    assert read_context_meta(later).provenance["earlier_stage"]["trained_steps"] == 1
    assert list(training.stream_indices(frozen, 0, 2)[:2]) == [50, 51]
    assert list(training.stream_indices(recipe, 5, 2)[:2]) == [4, 5]  # a resumed run: the buffer's scenes again
    wider = ContextMeta(decoder_channels=(32, 16, 8, 8), tile_cells=64)
    with pytest.raises(InputError, match="other settings"):
        training.train(tmp_path / "three", recipe, wider, RunHooks(), init_from=earlier)


def test_a_failed_save_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, meta):
    recipe = training.ContextRecipe(steps=4, batch_size=2, crop_cells=32, buffer_scenes=2, checkpoint_every=2,
                                    validation_scenes=1)
    write_checkpoint = training.write_checkpoint

    def full_disk_after_step_2(path, *args):
        if args[-1]["step"] > 2:
            raise OutputError(f"Cannot write '{path}': there is no space left on the disk.")
        write_checkpoint(path, *args)

    monkeypatch.setattr(training, "write_checkpoint", full_disk_after_step_2)
    with pytest.raises(OutputError, match=r"no space left.*stopped at step 4; the last good checkpoint \(step 2\)"):
        training.train(tmp_path, recipe, meta, RunHooks())
    monkeypatch.setattr(training, "write_checkpoint", write_checkpoint)
    resumed = RunHooks()
    training.train(tmp_path, recipe, meta, resumed)
    assert "Resumed from context_checkpoint.safetensors at step 2 of 4." in resumed.notes
