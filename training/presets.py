"""Training presets: the paper's ensemble (table 1), a fast single model, and the choices a custom model offers."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import InputError
from ..models.modelfile import HEADS, TRANSFORMS

AUTO_LOSS = "auto"  # the loss that fits the head: see loss_for_head
LOSSES = ("dice_focal", "bce")
OPTIMIZERS = ("adam", "adadelta")
# What the Train models dialog and the command line offer (segmentation-models-pytorch names, built offline).
ARCHITECTURES = ("Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus", "Linknet")
ENCODERS = ("efficientnet-b0", "efficientnet-b1", "efficientnet-b2", "efficientnet-b3", "efficientnet-b4",
            "resnet18", "resnet34", "mobilenet_v2")
HEAD_CHOICES = tuple(sorted(HEADS, key=lambda head: -len(HEADS[head])))  # the richest output first


def loss_for_head(head: str) -> str:
    """Binary cross-entropy for the one-channel coast head; Dice + Focal over the classes of softmax heads."""
    return "bce" if head == "sigmoid" else "dice_focal"


def _check_choice(what: str, value: str, choices) -> None:
    if value not in choices:
        raise InputError(f"Unknown {what} '{value}'. Choose one of: {', '.join(choices)}.")


@dataclass(frozen=True)
class MemberSpec:
    """One model to train: network, head, input transform, loss and optimizer.

    `loss` "auto" follows the head, also when the head is replaced (`dataclasses.replace`); a named loss must
    fit the head. Unknown names are refused here, before any work.
    """

    architecture: str = "Unet"
    encoder: str = "efficientnet-b0"
    head: str = "softmax"
    input_transform: str = "log"
    loss: str = AUTO_LOSS
    optimizer: str = "adam"
    learning_rate: float = 1e-3

    def __post_init__(self):
        _check_choice("head", self.head, tuple(HEADS))
        _check_choice("input transform", self.input_transform, TRANSFORMS)
        _check_choice("loss", self.loss, (AUTO_LOSS, *LOSSES))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.loss != AUTO_LOSS and self.loss != loss_for_head(self.head):
            raise InputError(f"The loss '{self.loss}' does not fit the head '{self.head}', which trains with "
                             f"'{loss_for_head(self.head)}'. Choose that loss, or '{AUTO_LOSS}'.")
        if not self.learning_rate >= 0:
            raise InputError(f"The learning rate must be 0 or more, not {self.learning_rate}.")

    @property
    def training_loss(self) -> str:
        """The loss this member trains with (one of LOSSES)."""
        return loss_for_head(self.head)

    @property
    def name(self) -> str:
        return f"{self.architecture.lower()}_{self.encoder}_{self.head}_{self.input_transform}"


PAPER_ENSEMBLE = (
    MemberSpec("Unet", "efficientnet-b4", "softmax_coast", "log", optimizer="adam", learning_rate=1e-3),
    MemberSpec("Unet", "efficientnet-b4", "softmax", "log", optimizer="adam", learning_rate=1e-3),
    MemberSpec("Unet", "efficientnet-b3", "sigmoid", "log", optimizer="adadelta", learning_rate=1.0),
    MemberSpec("Unet", "efficientnet-b3", "sigmoid", "linear", optimizer="adadelta", learning_rate=1.0),
)
FAST_SINGLE = (MemberSpec("Unet", "efficientnet-b0", "softmax_coast", "log", optimizer="adam", learning_rate=2e-3),)
PRESETS = {"fast": FAST_SINGLE, "paper": PAPER_ENSEMBLE}
PRESET_LABELS = {"fast": "Fast single model (U-Net/EfficientNet-B0, minutes on a GPU, usable on a CPU)",
                 "paper": "Paper ensemble (the 4 models of Hurtik & Vajgl 2021, table 1)"}
