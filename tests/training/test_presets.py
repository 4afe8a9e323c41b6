"""Members and the training configuration refuse what they cannot train, before any work; the loss follows the
head; the command line offers the same choices as the Train models dialog."""

from dataclasses import replace

import pytest

from sar_coastline.core.errors import InputError
from sar_coastline.core.inference.predict import DEVICES
from sar_coastline.models.modelfile import HEADS
from sar_coastline.training.cli import choose_members, main
from sar_coastline.training.loop import TrainConfig, make_loss, make_optimizer
from sar_coastline.training.presets import ENCODERS, FAST_SINGLE, HEAD_CHOICES, PAPER_ENSEMBLE, MemberSpec


def test_replacing_the_head_replaces_the_loss():
    import torch

    fast = FAST_SINGLE[0]
    assert fast.training_loss == "dice_focal"
    sigmoid = choose_members("fast", head="sigmoid")[0]  # what `training.cli --head sigmoid` trains
    assert sigmoid.head == "sigmoid" and sigmoid.training_loss == "bce"
    assert isinstance(make_loss(sigmoid), torch.nn.BCEWithLogitsLoss)
    assert replace(PAPER_ENSEMBLE[2], head="softmax").training_loss == "dice_focal"
    assert [member.training_loss for member in PAPER_ENSEMBLE] == ["dice_focal", "dice_focal", "bce", "bce"]


def test_a_loss_that_does_not_fit_the_head_is_refused():
    with pytest.raises(InputError, match="does not fit the head 'sigmoid'.*'bce'"):
        MemberSpec(head="sigmoid", loss="dice_focal")
    with pytest.raises(InputError, match="does not fit the head 'softmax_coast'"):
        MemberSpec(head="softmax_coast", loss="bce")
    assert MemberSpec(head="sigmoid", loss="bce").training_loss == "bce"


@pytest.mark.parametrize(("field", "value", "listed"), [
    ("loss", "dice", "auto, dice_focal, bce"),
    ("optimizer", "sgd", "adam, adadelta"),
    ("head", "softmax2", ", ".join(HEADS)),
    ("input_transform", "sqrt", "log, linear"),
])
def test_unknown_names_are_refused_with_the_valid_ones(field, value, listed):
    with pytest.raises(InputError, match=f"Unknown .*'{value}'. Choose one of: {listed}."):
        MemberSpec(**{field: value})


def test_the_optimizer_is_the_one_named():
    import torch

    parameters = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(make_optimizer(MemberSpec(optimizer="adadelta"), parameters), torch.optim.Adadelta)
    assert isinstance(make_optimizer(MemberSpec(optimizer="adam"), parameters), torch.optim.Adam)


def test_the_training_configuration_is_checked_before_any_work():
    with pytest.raises(InputError, match=f"Unknown device 'gpu'. Choose one of: {', '.join(DEVICES)}."):
        TrainConfig(device="gpu")
    with pytest.raises(InputError, match="batch_size must be at least 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(InputError, match="No model to train"):
        TrainConfig(members=())


def test_the_command_line_offers_the_dialogs_choices(tmp_path, capsys):
    assert set(HEAD_CHOICES) == set(HEADS) and HEAD_CHOICES[0] == "softmax_coast"
    with pytest.raises(SystemExit):
        main(["--generate", "1", "--out", str(tmp_path), "--encoder", "resnet999"])
    assert ENCODERS[0] in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--generate", "1", "--out", str(tmp_path), "--device", "gpu"])
    assert list(tmp_path.iterdir()) == []  # refused before any work
