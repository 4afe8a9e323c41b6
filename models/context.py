"""The context model of the coarse-to-fine method: a small segmentation network that reads a scene at a coarse
pixel (tens of metres) and gives P(land) per coarse cell. Its file is safetensors with its own metadata under
`sar_coastline_context` (what the network is, which input channels, which coarse pixel, how it was trained), so
loading it cannot run code and a sea/land ensemble member is never taken for it, or the other way round."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .modelfile import CheckedMetadata, ModelFileError, load_weights, save_weights

FORMAT = "sar-coastline-context/1"
METADATA_KEY = "sar_coastline_context"
# Per coarse cell, in this order (core/inference/context.py makes them): the band's dB of the mean intensity relative
# to the scene's median (in 10 dB units, and over the scene's spread), its texture (dB of the mean minus mean of the
# dB), the valid share, and a second polarisation (cross-pol) band's two channels with a flag saying whether there is
# one. Nothing absolute: products differ in calibration and scale.
CHANNELS = ("db_scene", "db_spread", "texture", "valid", "second_db_scene", "second_db_spread", "second_present")


@dataclass(frozen=True)
class ContextMeta(CheckedMetadata):
    described = "context model"  # a class attribute (no annotation), not a field
    architecture: str = "Unet"
    encoder: str = "mobilenet_v2"
    encoder_depth: int = 4
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16)
    channels: tuple[str, ...] = CHANNELS
    coarse_pixel_m: float = 40.0
    # The fine stage's half-width around the coarse boundary, in coarse cells: 3 (120 m) scored 11.10 m on the second
    # set's 3 m scenes against 11.18 m for 2 and 11.30 m for 4 (session 17).
    band_cells: float = 3.0
    tile_cells: int = 512  # side of the windows the network reads at inference (a multiple of 2**encoder_depth)
    # Inference averages the window and its mirror images (4 passes) on coarse grids of at most this many cells (a
    # scene of about 64 Mpx at 10 m); larger scenes take one pass, for speed (the log says which).
    test_time_flips_max_cells: int = 4_000_000
    pixel_size_range_m: tuple[float, float] = (3.0, 40.0)  # scenes it was trained on
    validation: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    format: str = FORMAT

    def problems(self) -> list[str]:
        found = []
        if self.format != FORMAT:
            found.append(f"format is '{self.format}', expected '{FORMAT}'")
        if tuple(self.channels) != CHANNELS:
            found.append(f"channels {list(self.channels)} are not this version's {list(CHANNELS)}")
        if len(self.decoder_channels) != self.encoder_depth:
            found.append(f"{len(self.decoder_channels)} decoder channels for encoder depth {self.encoder_depth}")
        if not self.coarse_pixel_m > 0 or not self.band_cells > 0:
            found.append("coarse_pixel_m and band_cells must be positive")
        if self.tile_cells % (2 ** self.encoder_depth):
            found.append(f"tile_cells {self.tile_cells} is not a multiple of {2 ** self.encoder_depth}")
        return found

    @classmethod
    def from_json(cls, text: str, source: str) -> ContextMeta:
        values = {key: tuple(value) if isinstance(value, list) else value
                  for key, value in cls.parsed_json(text, source).items()}
        try:
            return cls(**values).check(source)
        except TypeError as error:
            raise ModelFileError(f"The {source} metadata is incomplete ({error}).") from None


def create_network(meta: ContextMeta):
    """The network a ContextMeta describes (segmentation-models-pytorch), without pretrained weights."""
    import segmentation_models_pytorch as smp

    return smp.create_model(meta.architecture, encoder_name=meta.encoder, encoder_weights=None,
                            encoder_depth=meta.encoder_depth, decoder_channels=tuple(meta.decoder_channels),
                            in_channels=len(meta.channels), classes=1)


def is_context_model(path: str | os.PathLike) -> bool:
    """Whether a file is a context model (its safetensors header carries this format's metadata key)."""
    return _header_metadata(Path(path)).get(METADATA_KEY) is not None


def _header_metadata(path: Path) -> dict:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            return handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise ModelFileError(f"'{path.name}' is not a readable model file ({error}).") from None


def read_context_meta(path: str | os.PathLike) -> ContextMeta:
    path = Path(path)
    text = _header_metadata(path).get(METADATA_KEY)
    if text is None:
        raise ModelFileError(f"'{path.name}' is not a context model (no '{METADATA_KEY}' metadata): the "
                             "coarse-to-fine method needs one made by `make train-default` (training/context.py).")
    return ContextMeta.from_json(text, f"context model '{path.name}'")


def save_context_model(path: str | os.PathLike, network, meta: ContextMeta, half: bool = True) -> Path:
    """Weights (fp16 by default: half the size, loaded as fp32) and metadata, written atomically."""
    meta.check()
    return save_weights(path, network, {METADATA_KEY: meta.to_json()}, half)


def load_context_model(path: str | os.PathLike):
    """(meta, network in eval mode, float32 on the CPU); names any mismatch between weights and metadata."""
    path = Path(path)
    meta = read_context_meta(path)
    return meta, load_weights(create_network(meta), path, f"{meta.architecture}/{meta.encoder}")
