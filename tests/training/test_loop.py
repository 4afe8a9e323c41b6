"""Training end to end on the CPU with a tiny model: model file, manifest, resume, cancel."""

import numpy as np
import pytest

from sar_coastline.core.errors import Cancelled
from sar_coastline.core.extract import ExtractConfig, extract
from sar_coastline.core.infer import InferenceConfig
from sar_coastline.core.synthetic import generate_scene, write_scene
from sar_coastline.models.modelfile import load_model, read_manifest
from sar_coastline.training.dataset import CropConfig
from sar_coastline.training.loop import TrainConfig, TrainSource, train
from sar_coastline.training.presets import MemberSpec

TINY = TrainConfig(members=(MemberSpec(encoder="resnet18", head="softmax_coast"),), epochs=2, steps_per_epoch=2,
                   batch_size=2, crop=CropConfig(model_side=64, crop_range=(128, 192)), validation_share=0.5,
                   device="cpu", seed=3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    result = []
    for seed, style in ((21, "rocky"), (22, "beach")):
        scene = generate_scene(384, 384, seed, style)
        paths = write_scene(scene, folder, f"s{seed}")
        result.append(TrainSource(str(paths.image), scene.truth_lines, classes_path=str(paths.labels)))
    return result


def test_two_epochs_write_a_model_that_extract_runs(sources, tmp_path):
    logged = []
    result = train(sources, TINY, tmp_path, log=logged.append)
    member = result.members[0]
    assert member.path.exists() and len(member.history) == 2
    assert 0 < member.score <= 150
    loaded = load_model(member.path)
    assert loaded.meta.head == "softmax_coast" and loaded.meta.validation_score == pytest.approx(member.score)
    assert loaded.meta.provenance["data"] == ["s21.tif", "s22.tif"]
    assert [path for path, _weight in read_manifest(result.manifest)] == [member.path.resolve()]
    assert any("validation score" in line for line in logged)
    lines = extract(sources[0].image, ExtractConfig(method="orientation_free", models=(str(result.manifest),),
                                                     min_length_m=0,
                                                     inference=InferenceConfig(device="cpu"))).lines
    assert all(line.attributes["models"] for line in lines)


def test_resume_continues_from_the_checkpoint(sources, tmp_path):
    first = train(sources, TrainConfig(**{**TINY.__dict__, "epochs": 1}), tmp_path)
    logged = []
    second = train(sources, TINY, tmp_path, log=logged.append)
    assert any("resumed from the checkpoint after epoch 1" in line for line in logged)
    assert [entry["epoch"] for entry in second.members[0].history] == [1, 2]
    assert second.members[0].history[0] == first.members[0].history[0]


def test_cancel_saves_a_checkpoint_and_a_usable_model(sources, tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled, match="checkpoint"):
        train(sources, TINY, tmp_path, cancel=cancel)
    model = tmp_path / "unet_resnet18_softmax_coast_log.safetensors"
    assert load_model(model).meta.head == "softmax_coast"
    assert (tmp_path / "unet_resnet18_softmax_coast_log.checkpoint.pt").exists()


def test_same_seed_same_crops(sources):
    from sar_coastline.training.dataset import CropSampler
    from sar_coastline.training.loop import prepare_scenes

    scenes, _validation = prepare_scenes(sources, 0.5, lambda message: None)
    a = CropSampler(scenes, TINY.crop, seed=5).sample(3, 7)
    b = CropSampler(scenes, TINY.crop, seed=5).sample(3, 7)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])  # NaN (no data) compares equal here


def test_fine_tuning_starts_from_a_model_file_and_refuses_another_network(sources, tmp_path):
    from dataclasses import replace

    import torch

    from sar_coastline.core.errors import InputError

    start = train(sources, replace(TINY, epochs=1), tmp_path / "start").members[0].path
    frozen = replace(TINY, members=(replace(TINY.members[0], learning_rate=0.0),), epochs=1, init_from=str(start))
    logged = []
    tuned = train(sources, frozen, tmp_path / "tuned", log=logged.append).members[0].path
    assert any("starting from the weights of" in line for line in logged)
    before = dict(load_model(start).network.named_parameters())
    after = dict(load_model(tuned).network.named_parameters())
    assert all(torch.equal(before[name], after[name]) for name in before)  # learning rate 0: still the start
    other = replace(TINY, members=(MemberSpec(encoder="resnet18", head="softmax"),), init_from=str(start))
    with pytest.raises(InputError, match="same network and head"):
        train(sources, other, tmp_path / "other")
