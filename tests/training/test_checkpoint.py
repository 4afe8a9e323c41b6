"""Checkpoints: safetensors plus JSON, no pickle; written atomically (a failed save says why and keeps the previous
one); unreadable ones are explained."""

import json

import pytest
import torch

from sar_coastline.core.errors import InputError, OutputError
from sar_coastline.training.checkpoint import METADATA_KEY, read_checkpoint, write_checkpoint


def _training_state(optimizer_class=torch.optim.Adam, steps: int = 3):
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    averaged = torch.optim.swa_utils.AveragedModel(
        network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=True)
    optimizer = optimizer_class(network.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(steps):
        optimizer.zero_grad()
        network(torch.randn(5, 3)).square().mean().backward()
        optimizer.step()
        scheduler.step()
        averaged.update_parameters(network)
    return {"network": network, "averaged": averaged}, optimizer, scheduler


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same(a[key], b[key])
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("optimizer_class", [torch.optim.Adam, torch.optim.Adadelta])
def test_a_checkpoint_restores_networks_optimizer_and_scheduler(tmp_path, monkeypatch, optimizer_class):
    modules, optimizer, scheduler = _training_state(optimizer_class)
    progress = {"epoch": 3, "best": 12.5, "history": [{"epoch": 1, "loss": 0.5}]}
    path = write_checkpoint(tmp_path / "m.checkpoint.safetensors", modules, optimizer, scheduler, progress)
    fresh_modules, fresh_optimizer, fresh_scheduler = _training_state(optimizer_class, steps=0)
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("a checkpoint is never unpickled"))
    assert read_checkpoint(path, fresh_modules, fresh_optimizer, fresh_scheduler, "cpu") == progress
    for name in modules:
        _assert_same(modules[name].state_dict(), fresh_modules[name].state_dict())
    _assert_same(optimizer.state_dict(), fresh_optimizer.state_dict())
    _assert_same(scheduler.state_dict(), fresh_scheduler.state_dict())
    assert fresh_optimizer.state_dict()["state"][0]["step"] == 3  # the Adam/Adadelta step counters came back


def test_an_interrupted_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    import safetensors.torch

    modules, optimizer, scheduler = _training_state()
    path = write_checkpoint(tmp_path / "m.checkpoint.safetensors", modules, optimizer, scheduler, {"epoch": 1})
    before = path.read_bytes()

    def interrupted(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"\x10\x00\x00")  # a few bytes, then the process dies
        raise OSError("No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", interrupted)
    with pytest.raises(OutputError, match=f"the checkpoint '{path}': there is no space left on the disk .*Free "
                                          "disk space"):
        write_checkpoint(path, modules, optimizer, scheduler, {"epoch": 2})
    assert path.read_bytes() == before
    assert [item.name for item in tmp_path.iterdir()] == [path.name]  # no partial file left behind
    assert read_checkpoint(path, *_training_state(steps=0), "cpu") == {"epoch": 1}


def test_the_checkpoint_is_one_safetensors_file_with_its_state_as_json(tmp_path):
    from safetensors import safe_open

    modules, optimizer, scheduler = _training_state()
    path = write_checkpoint(tmp_path / "m.checkpoint.safetensors", modules, optimizer, scheduler, {"epoch": 7})
    with safe_open(str(path), framework="pt") as handle:
        header = json.loads(handle.metadata()[METADATA_KEY])
        keys = set(handle.keys())
    assert header["progress"] == {"epoch": 7} and header["scheduler"]["last_epoch"] == 3
    assert {"network/0.weight", "averaged/module.0.weight", "averaged/n_averaged", "optimizer/0/exp_avg"} <= keys


@pytest.mark.parametrize("content", [b"", b"\x80\x04K\x01.", b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}"])
def test_an_unreadable_checkpoint_says_how_to_start_afresh(tmp_path, content):
    path = tmp_path / "m.checkpoint.safetensors"
    path.write_bytes(content)
    with pytest.raises(InputError, match="'m.checkpoint.safetensors' cannot be resumed.*Delete it"):
        read_checkpoint(path, *_training_state(steps=0), "cpu")


def test_a_checkpoint_of_another_network_is_refused(tmp_path):
    modules, optimizer, scheduler = _training_state()
    path = write_checkpoint(tmp_path / "m.checkpoint.safetensors", modules, optimizer, scheduler, {"epoch": 1})
    other = torch.nn.Linear(3, 2)
    other_optimizer = torch.optim.Adam(other.parameters())
    with pytest.raises(InputError, match="cannot be resumed"):
        read_checkpoint(path, {"network": other}, other_optimizer,
                        torch.optim.lr_scheduler.CosineAnnealingLR(other_optimizer, T_max=10), "cpu")
