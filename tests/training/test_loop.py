"""Training end to end on the CPU with a tiny model: model file, manifest, validation as Extract runs, resume,
cancel, GPU out-of-memory."""

from dataclasses import replace

import numpy as np
import pytest

from sar_coastline.core.config import ExtractConfig, InferenceConfig
from sar_coastline.core.errors import Cancelled, CoastlineError, InputError, OutputError
from sar_coastline.core.evaluation.metric import DEFAULT_CAP_M, evaluate
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.inference.loading import DEFAULT_MODEL
from sar_coastline.core.pipeline.extract import extract
from sar_coastline.models.modelfile import load_model, read_manifest
from sar_coastline.synthetic.scenes import generate_scene, write_scene
from sar_coastline.training import loop
from sar_coastline.training.dataset import CropConfig
from sar_coastline.training.loop import TrainConfig, TrainSource, prepare_scenes, train
from sar_coastline.training.presets import MemberSpec

TINY = TrainConfig(members=(MemberSpec(encoder="resnet18", head="softmax_coast"),), epochs=2, steps_per_epoch=2,
                   batch_size=2, crop=CropConfig(model_side=64, crop_range=(128, 192)), validation_share=0.5,
                   device="cpu", seed=3)
TINY_NAME = "unet_resnet18_softmax_coast_log"


def _sources(folder, scenes) -> list[TrainSource]:
    result = []
    for seed, style in scenes:
        scene = generate_scene(384, 384, seed, style)
        paths = write_scene(scene, folder, f"s{seed}")
        result.append(TrainSource(str(paths.image), scene.truth_lines, classes_path=str(paths.labels)))
    return result


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two scenes: s21 to train on, s22 held out for validation (validation share 0.5)."""
    return _sources(tmp_path_factory.mktemp("train"), ((21, "rocky"), (22, "beach")))


@pytest.fixture(scope="module")
def two_epochs(sources, tmp_path_factory):
    logged = []
    result = train(sources, TINY, tmp_path_factory.mktemp("two_epochs"), RunHooks(log=logged.append))
    return result, logged


def test_two_epochs_write_a_model_that_extract_runs(sources, two_epochs):
    result, logged = two_epochs
    member = result.members[0]
    assert member.path.exists() and [entry["epoch"] for entry in member.history] == [1, 2]
    assert member.score == pytest.approx(min(entry["score"] for entry in member.history), abs=1e-3)  # best kept
    loaded = load_model(member.path)
    assert loaded.meta.head == "softmax_coast" and loaded.meta.validation_score == pytest.approx(member.score)
    assert loaded.meta.provenance["data"] == ["s21.tif", "s22.tif"] and loaded.meta.provenance["loss"] == "dice_focal"
    assert [path for path, _weight in read_manifest(result.manifest)] == [member.path.resolve()]
    assert sum("validation score" in line for line in logged) == 2
    extracted = extract(sources[0].image, ExtractConfig(method="orientation_free", models=(str(result.manifest),),
                                                        inference=InferenceConfig(device="cpu")))
    assert extracted.method == "orientation_free"
    assert any(member.path.name in note for note in extracted.notes)  # the trained model ran


def test_validation_scores_what_extract_gives_users(tmp_path_factory, monkeypatch):
    """Fine-tuned (learning rate 0) from the bundled model, which finds this coast: the saved validation score
    is the metric of Extract coastline's own lines, with its default settings, on the held-out scene, read at the
    crop sides chosen for the model."""
    sources = _sources(tmp_path_factory.mktemp("validation"), ((22, "beach"), (21, "rocky")))
    start, _weight = read_manifest(DEFAULT_MODEL)[0]
    config = TrainConfig(members=(MemberSpec(encoder="efficientnet-b0", head="softmax", learning_rate=0.0),),
                         epochs=1, steps_per_epoch=1, batch_size=2, validation_share=0.5, device="cpu",
                         crop=CropConfig(model_side=256, crop_range=(288, 448), normalization="scene"),
                         init_from=str(start), inference_scales=((3.0, (256,)),))
    runs = []

    def recording_extract(scene, extract_config, hooks=None, predictor=None):
        result = extract(scene, extract_config, hooks, predictor=predictor)
        runs.append((scene.name, extract_config, result.notes))
        return result

    monkeypatch.setattr(loop, "extract", recording_extract)
    member = train(sources, config, tmp_path_factory.mktemp("validated")).members[0]
    [(scene_name, validation_config, notes)] = runs
    assert scene_name == "s21"  # the held-out scene, once per epoch
    assert validation_config == ExtractConfig(method="orientation_free", inference=InferenceConfig(device="cpu"))
    meta = load_model(member.path).meta
    assert meta.inference_scales == ((3.0, (256,)),)  # recorded; validation read the 3 m scene at those sides
    assert any("Scales (crop sides) [256] px" in note for note in notes)

    users = extract(sources[1].image, ExtractConfig(method="orientation_free", models=(str(member.path),),
                                                    inference=InferenceConfig(device="cpu")))
    assert users.lines
    users_score, _distances = evaluate([line.coords for line in users.lines], sources[1].lines)
    assert member.score == pytest.approx(users_score.score, abs=0.01)
    assert member.score < DEFAULT_CAP_M - 100  # far better than finding nothing (the cap)


def checkpoint_progress(folder) -> dict:
    """The progress a member's checkpoint records (epochs done, best score, history)."""
    import json

    from safetensors import safe_open

    from sar_coastline.training.checkpoint import METADATA_KEY

    with safe_open(str(folder / f"{TINY_NAME}.checkpoint.safetensors"), framework="pt") as handle:
        return json.loads(handle.metadata()[METADATA_KEY])["progress"]


class Killed(Exception):
    """The process dying mid-run: nothing of the loop's own runs after it."""


def test_resume_after_a_killed_run_gives_the_uninterrupted_history(sources, two_epochs, tmp_path, monkeypatch):
    import torch

    def die_in_epoch_2(percent):
        if percent > 50:
            raise Killed()

    with pytest.raises(Killed):
        train(sources, TINY, tmp_path, RunHooks(progress=die_in_epoch_2))
    # A checkpoint save killed half-way leaves its temporary file; the checkpoint it was replacing is whole.
    (tmp_path / f".{TINY_NAME}.checkpoint.safetensors.partial").write_bytes(b"\x40\x00\x00")
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("checkpoints are never unpickled"))
    logged = []
    resumed = train(sources, TINY, tmp_path, RunHooks(log=logged.append)).members[0].history
    assert any("resumed from the checkpoint after epoch 1" in line for line in logged)
    assert sum("validation score" in line for line in logged) == 1  # epoch 1 was not trained again
    uninterrupted = two_epochs[0].members[0].history
    same = ("epoch", "loss", "score", "lr")
    assert [{key: entry[key] for key in same} for entry in resumed] == [
        {key: entry[key] for key in same} for entry in uninterrupted]  # weights, optimizer and schedule came back


def test_a_failed_save_stops_training_with_the_last_checkpoint_whole_and_a_rerun_resumes(sources, two_epochs,
                                                                                         tmp_path, monkeypatch):
    """The disk fills in epoch 2: its first save fails (written in part, as a full disk does), the run stops saying
    so, the model file and checkpoint of epoch 1 are whole, and a rerun with room gives the uninterrupted history."""
    import safetensors.torch
    from safetensors import SafetensorError

    real_save_file = safetensors.torch.save_file
    saves, kept = [], {}

    def disk_full_from_epoch_2(tensors, filename, metadata=None):
        saves.append(filename)
        if len(saves) <= 2:  # epoch 1: the model file, then the checkpoint
            return real_save_file(tensors, filename, metadata=metadata)
        kept.update({path.name: path.read_bytes() for path in tmp_path.glob("*.safetensors")})
        with open(filename, "wb") as handle:
            handle.write(b"\x10\x00\x00")
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space '
                              'left on device" })')

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full_from_epoch_2)
    logged = []
    with pytest.raises(OutputError, match=f"no space left on the disk.*Training {TINY_NAME} stopped; the last good "
                                          rf"checkpoint {TINY_NAME}.checkpoint.safetensors \(after epoch 1\) and the "
                                          f"model {TINY_NAME}.safetensors are whole: run again to resume"):
        train(sources, TINY, tmp_path, RunHooks(log=logged.append))
    assert sum("validation score" in line for line in logged) == 1  # stopped in epoch 2
    assert sorted(kept) == [f"{TINY_NAME}.checkpoint.safetensors", f"{TINY_NAME}.safetensors"]
    assert {name: (tmp_path / name).read_bytes() for name in kept} == kept  # untouched by the failed save
    assert not list(tmp_path.glob(".*.partial"))
    assert checkpoint_progress(tmp_path)["epoch"] == 1 and load_model(tmp_path / f"{TINY_NAME}.safetensors")
    monkeypatch.undo()
    logged.clear()
    resumed = train(sources, TINY, tmp_path, RunHooks(log=logged.append)).members[0].history
    assert any("resumed from the checkpoint after epoch 1" in line for line in logged)
    same = ("epoch", "loss", "score", "lr")
    assert [{key: entry[key] for key in same} for entry in resumed] == [
        {key: entry[key] for key in same} for entry in two_epochs[0].members[0].history]


def test_resume_continues_from_the_checkpoint(sources, tmp_path):
    first = train(sources, replace(TINY, epochs=1), tmp_path)
    logged = []
    second = train(sources, TINY, tmp_path, RunHooks(log=logged.append))
    assert any("resumed from the checkpoint after epoch 1" in line for line in logged)
    history = second.members[0].history
    assert [entry["epoch"] for entry in history] == [1, 2] and history[0] == first.members[0].history[0]
    assert history[1]["lr"] == pytest.approx(0.0)  # the schedule now spans two epochs and ends at zero


def test_cancel_saves_a_checkpoint_and_a_usable_model(sources, tmp_path):
    progress = []
    hooks = RunHooks(progress=progress.append, cancel=lambda: len(progress) > 0)  # in the second training step
    with pytest.raises(Cancelled, match="cancelled in epoch 1; the checkpoint"):
        train(sources, TINY, tmp_path, hooks)
    assert len(progress) == 1
    meta = load_model(tmp_path / f"{TINY_NAME}.safetensors").meta
    assert meta.head == "softmax_coast" and meta.validation_score is None  # saved as it was: never validated
    # No epoch finished: a rerun trains epoch 1 again (saving "after epoch 1" would skip the rest of it).
    assert checkpoint_progress(tmp_path) == {"epoch": 0, "best": None, "history": []}


def test_cancel_while_validating(sources, tmp_path, monkeypatch):
    progress = []
    monkeypatch.setattr(loop, "extract", lambda *args, **kwargs: pytest.fail("validation ran after the cancel"))
    hooks = RunHooks(progress=progress.append, cancel=lambda: bool(progress) and progress[-1] >= 50)
    with pytest.raises(Cancelled, match="cancelled in epoch 1"):
        train(sources, TINY, tmp_path, hooks)
    assert progress[-1] == 50  # every step of epoch 1 ran, then validation was cancelled
    assert checkpoint_progress(tmp_path) == {"epoch": 0, "best": None, "history": []}  # epoch 1 was not scored


def test_cancel_while_preparing_scenes(sources, tmp_path):
    asked = []

    def cancel_at_the_second_check():  # the first label strip (per-strip checks: test_labels)
        asked.append(1)
        return len(asked) == 2

    with pytest.raises(Cancelled, match="nothing was written"):
        prepare_scenes(sources, 0.5, RunHooks(cancel=cancel_at_the_second_check), tmp_path / "labels")
    assert len(asked) == 2 and not any((tmp_path / "labels").iterdir())
    with pytest.raises(Cancelled, match="nothing was written"):
        train(sources, TINY, tmp_path / "out", RunHooks(cancel=lambda: True))
    assert list((tmp_path / "out").iterdir()) == []


def test_label_warnings_reach_the_hooks_and_truth_stays_inside_its_scene(sources, tmp_path):
    scene = generate_scene(384, 384, 23, "rocky")
    empty = write_scene(replace(scene, truth_lines=[]), tmp_path, "no_coast").image
    elsewhere = sources[0].lines[0] + 1e5  # another scene's line, 100 km away
    warnings, notes = [], []
    hooks = RunHooks(warn=warnings.append, log=lambda message: None, notes=notes)
    train_scenes, validation = prepare_scenes(
        [TrainSource(str(empty), [elsewhere]), TrainSource(sources[1].image, [*sources[1].lines, elsewhere])],
        0.5, hooks)
    assert len(train_scenes) == 1 and len(warnings) == 1
    assert warnings[0].startswith("no_coast: No coastline line in this scene")
    assert not any("the lines cut the scene into" in note for note in notes)  # no line: no region rule
    assert len(validation) == 1 and len(validation[0].truth) == len(sources[1].lines)


def test_lines_that_do_not_cut_a_scene_name_it(sources):
    stub = sources[0].lines[0][:3]  # a few vertices: the line ends inside the scene
    with pytest.raises(InputError, match="^s21: The coastline lines do not cut the scene"):
        prepare_scenes([TrainSource(sources[0].image, [stub])], 0.0, RunHooks())


def test_a_single_scene_holds_out_its_bottom_rows_without_copying_them(sources, tmp_path):
    from sar_coastline.core.io.raster_reader import open_scene

    [scene], [held_out] = prepare_scenes(sources[:1], 0.25, RunHooks(), tmp_path)
    image = open_scene(sources[0].image)
    assert scene.rows == (0, 288) and held_out.scene.name == "s21_validation" and held_out.scene.array is None
    np.testing.assert_array_equal(held_out.scene.read_db(), image.read_db(0, 288, 384, 96))
    assert held_out.scene.geotransform[3] == image.geotransform[3] + 288 * image.geotransform[5]
    assert held_out.truth and all((line[:, 1] <= held_out.scene.geotransform[3]).all() for line in held_out.truth)


def test_same_seed_same_crops(sources):
    from sar_coastline.training.dataset import CropSampler

    scenes, _validation = prepare_scenes(sources, 0.5, RunHooks())
    a = CropSampler(scenes, TINY.crop, seed=5).sample(3, 7)
    b = CropSampler(scenes, TINY.crop, seed=5).sample(3, 7)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])  # NaN (no data) compares equal here


def test_gpu_out_of_memory_splits_the_batch_and_training_goes_on(sources, tmp_path, monkeypatch):
    import torch

    create_model = loop.create_model
    batches = []

    def out_of_memory_above_one(module, args):
        if module.training:  # validation (eval mode) runs its own batches
            batches.append(len(args[0]))
            if len(args[0]) > 1:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    def small_gpu_model(meta):
        network = create_model(meta)
        network.register_forward_pre_hook(out_of_memory_above_one)
        return network

    monkeypatch.setattr(loop, "create_model", small_gpu_model)
    logged = []
    result = train(sources, replace(TINY, epochs=1), tmp_path, RunHooks(log=logged.append))
    assert [line for line in logged if "out of memory" in line] == [
        "GPU out of memory: each batch of 2 now runs as 2 micro-batches of up to 1 with gradient accumulation "
        "(same effective batch)."]
    assert batches == [2, 1, 1, 1, 1]  # the first batch failed whole; both steps then ran in parts of one
    assert result.members[0].path.exists() and len(result.members[0].history) == 1


def test_micro_batches_add_up_to_the_whole_batch_step():
    import copy

    import torch

    from sar_coastline.training.loop import AccumulatingStep

    torch.manual_seed(0)
    inputs, target = torch.randn(8, 1, 6, 6), torch.rand(8, 1, 6, 6)
    whole_network = torch.nn.Conv2d(1, 1, 3, padding=1)
    split_network = copy.deepcopy(whole_network)

    def out_of_memory_above(limit):
        def hook(module, args):
            if len(args[0]) > limit:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return hook

    split_network.register_forward_pre_hook(out_of_memory_above(2))
    loss = torch.nn.BCEWithLogitsLoss()
    logged = []
    whole = AccumulatingStep(whole_network, torch.optim.SGD(whole_network.parameters(), lr=0.5), loss, "cpu",
                             logged.append)
    split = AccumulatingStep(split_network, torch.optim.SGD(split_network.parameters(), lr=0.5), loss, "cpu",
                             logged.append)
    assert split(inputs, target) == pytest.approx(whole(inputs, target))
    assert split.micro_batches == 4 and whole.micro_batches == 1 and len(logged) == 2
    for after_split, after_whole in zip(split_network.parameters(), whole_network.parameters()):
        torch.testing.assert_close(after_split, after_whole)
    split(inputs, target)  # the split is kept: no new out-of-memory
    assert len(logged) == 2

    hopeless = torch.nn.Conv2d(1, 1, 3, padding=1)
    hopeless.register_forward_pre_hook(out_of_memory_above(0))
    step = AccumulatingStep(hopeless, torch.optim.SGD(hopeless.parameters(), lr=0.5), loss, "cpu", logged.append)
    with pytest.raises(CoastlineError, match="one crop at a time.*batch size.*DEVICE cpu"):
        step(inputs, target)


def test_fine_tuning_starts_from_a_model_file_and_refuses_another_network(sources, tmp_path):
    import torch

    start = train(sources, replace(TINY, epochs=1), tmp_path / "start").members[0].path
    frozen = replace(TINY, members=(replace(TINY.members[0], learning_rate=0.0),), epochs=1, init_from=str(start))
    logged = []
    tuned = train(sources, frozen, tmp_path / "tuned", RunHooks(log=logged.append)).members[0].path
    assert any("starting from the weights of" in line for line in logged)
    before = dict(load_model(start).network.named_parameters())
    after = dict(load_model(tuned).network.named_parameters())
    assert all(torch.equal(before[name], after[name]) for name in before)  # learning rate 0: still the start
    other = replace(TINY, members=(MemberSpec(encoder="resnet34", head="softmax_coast"),), init_from=str(start))
    with pytest.raises(InputError, match="same network"):
        train(sources, other, tmp_path / "other")


def test_fine_tuning_to_another_head_keeps_the_encoder_and_starts_the_output_layer_afresh(sources, tmp_path):
    """The paper ensemble's members (sigmoid, softmax, softmax+coast heads) can all start from one model."""
    import torch

    start = train(sources, replace(TINY, epochs=1), tmp_path / "start").members[0].path
    sigmoid = replace(TINY, members=(MemberSpec(encoder="resnet18", head="sigmoid", learning_rate=0.0),), epochs=1,
                      init_from=str(start))
    logged = []
    tuned = train(sources, sigmoid, tmp_path / "tuned", RunHooks(log=logged.append)).members[0].path
    assert any("output tensors start afresh" in line for line in logged)
    before = dict(load_model(start).network.named_parameters())
    after = dict(load_model(tuned).network.named_parameters())
    head = {name for name in after if name.startswith("segmentation_head")}
    assert head and all(before[name].shape != after[name].shape for name in head if name.endswith("weight"))
    assert all(torch.equal(before[name], after[name]) for name in after if name not in head)
