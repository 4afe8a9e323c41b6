"""Training presets: the paper's ensemble (table 1), a fast single model, and custom."""

from __future__ import annotations

from dataclasses import dataclass

LOSSES = ("dice_focal", "bce")
OPTIMIZERS = ("adam", "adadelta")


@dataclass(frozen=True)
class MemberSpec:
    """One model to train: network, head, input transform, loss and optimizer."""

    architecture: str = "Unet"
    encoder: str = "efficientnet-b0"
    head: str = "softmax"
    input_transform: str = "log"
    loss: str = "dice_focal"
    optimizer: str = "adam"
    learning_rate: float = 1e-3

    @property
    def name(self) -> str:
        return f"{self.architecture.lower()}_{self.encoder}_{self.head}_{self.input_transform}"


PAPER_ENSEMBLE = (
    MemberSpec("Unet", "efficientnet-b4", "softmax_coast", "log", "dice_focal", "adam", 1e-3),
    MemberSpec("Unet", "efficientnet-b4", "softmax", "log", "dice_focal", "adam", 1e-3),
    MemberSpec("Unet", "efficientnet-b3", "sigmoid", "log", "bce", "adadelta", 1.0),
    MemberSpec("Unet", "efficientnet-b3", "sigmoid", "linear", "bce", "adadelta", 1.0),
)
FAST_SINGLE = (MemberSpec("Unet", "efficientnet-b0", "softmax_coast", "log", "dice_focal", "adam", 2e-3),)
PRESETS = {"paper": PAPER_ENSEMBLE, "fast": FAST_SINGLE}
