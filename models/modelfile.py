"""Self-describing model files (safetensors weights + JSON metadata) and ensemble manifests.

A model file is a safetensors file whose header metadata holds, under the key `sar_coastline`, everything
needed to use the weights: architecture, encoder, channels, classes, head, input transform and dB window,
model side, training crop range (hence inference scales), validation score and provenance. safetensors holds
tensors only, so loading a model file cannot run code; pickles (torch.save files) are refused.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..core.errors import InputError
from ..core.io.scene import DB_WINDOW
from ..core.io.writing import replace_on_success

FORMAT = "sar-coastline-model/1"
MANIFEST_FORMAT = "sar-coastline-ensemble/1"
METADATA_KEY = "sar_coastline"
HEADS = {
    "sigmoid": ("coast",),
    "softmax": ("sea", "nodata", "land"),
    "softmax_coast": ("sea", "nodata", "land", "coast"),
}
TRANSFORMS = ("log", "linear")
MIN_CROP_SIDE = 32  # scene pixels: a window is never enlarged from less
NORMALIZATIONS = ("fixed", "scene")  # scene: the scene's 2nd..98th dB percentiles mapped onto the dB window


class ModelFileError(InputError):
    """A model file or manifest that cannot be used; the message names what is wrong."""


class CheckedMetadata:
    """What a model file's metadata dataclass shares (it gives `problems()`): checked, written and read as JSON."""

    described = "model"  # how messages name the file's kind

    def check(self, source: str | None = None):
        problems = self.problems()
        if problems:
            raise ModelFileError(f"The {source or self.described} metadata is inconsistent: " + "; ".join(problems)
                                 + ".")
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parsed_json(cls, text: str, source: str) -> dict:
        """The metadata's JSON, of this dataclass's fields only."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelFileError(f"The {source} metadata is not valid JSON ({error}).") from None
        known = {item.name for item in fields(cls)}
        return {key: value for key, value in raw.items() if key in known}


@dataclass(frozen=True)
class ModelMeta(CheckedMetadata):
    architecture: str
    encoder: str
    head: str
    classes: tuple[str, ...]
    input_transform: str
    in_channels: int = 1
    db_window: tuple[float, float] = DB_WINDOW
    model_side: int = 512
    crop_range: tuple[int, int] = (1024, 1536)
    validation_score: float | None = None
    provenance: dict = field(default_factory=dict)
    normalization: str = "fixed"
    pixel_size_m: float | None = None  # ground pixel size of the training scenes (their median); None: unknown
    # smallest and largest pixel size among the training scenes: a multi-resolution model reads any scene in
    # this range at its own crop sides; None: only pixel_size_m is known
    pixel_size_range_m: tuple[float, float] | None = None
    # crop sides chosen on held-out scenes for scenes of at least a pixel size: ((from m, (side, ...)), ...), e.g.
    # the model side (one scene pixel per model pixel) from 20 m; finer scenes, or none given: the ends and the
    # middle of the crop range, as in training
    inference_scales: tuple[tuple[float, tuple[int, ...]], ...] = ()
    format: str = FORMAT

    def problems(self) -> list[str]:
        found = []
        if self.format != FORMAT:
            found.append(f"format is '{self.format}', expected '{FORMAT}'")
        if self.head not in HEADS:
            found.append(f"head '{self.head}' is not one of {', '.join(HEADS)}")
        elif tuple(self.classes) != HEADS[self.head]:
            found.append(f"classes {list(self.classes)} do not match the head '{self.head}' {list(HEADS[self.head])}")
        if self.input_transform not in TRANSFORMS:
            found.append(f"input transform '{self.input_transform}' is not one of {', '.join(TRANSFORMS)}")
        if self.normalization not in NORMALIZATIONS:
            found.append(f"normalization '{self.normalization}' is not one of {', '.join(NORMALIZATIONS)}")
        if self.in_channels != 1:
            found.append(f"in_channels is {self.in_channels}; SAR Coastline models read one band")
        if not (len(self.db_window) == 2 and self.db_window[0] < self.db_window[1]):
            found.append(f"db_window {list(self.db_window)} is not an increasing pair")
        if self.model_side < 32 or self.model_side % 32:
            found.append(f"model_side {self.model_side} is not a multiple of 32")
        if not (len(self.crop_range) == 2 and 0 < self.crop_range[0] <= self.crop_range[1]):
            found.append(f"crop_range {list(self.crop_range)} is not an increasing pair of sides")
        if self.pixel_size_range_m is not None and not (
                len(self.pixel_size_range_m) == 2 and 0 < self.pixel_size_range_m[0] <= self.pixel_size_range_m[1]):
            found.append(f"pixel_size_range_m {list(self.pixel_size_range_m)} is not an increasing pair of sizes")
        for from_m, sides in self.inference_scales:
            if not (from_m > 0 and sides and all(side >= MIN_CROP_SIDE for side in sides)):
                found.append(f"inference_scales from {from_m} m: {list(sides)} are not crop sides of at least "
                             f"{MIN_CROP_SIDE} px for a positive pixel size")
        return found

    @classmethod
    def from_json(cls, text: str, source: str = "model") -> ModelMeta:
        values = cls.parsed_json(text, source)
        required = {"architecture", "encoder", "head", "classes", "input_transform"}
        missing = sorted(required - values.keys())
        if missing:
            raise ModelFileError(f"The {source} metadata lacks {', '.join(missing)}. Re-export the model with "
                                 "SAR Coastline's Train models.")
        for key in ("classes", "db_window", "crop_range", "pixel_size_range_m"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        try:
            values["inference_scales"] = tuple((float(from_m), tuple(int(side) for side in sides))
                                               for from_m, sides in values.get("inference_scales", ()))
        except (TypeError, ValueError):
            raise ModelFileError(f"The {source} metadata's inference_scales are not (pixel size, crop sides) "
                                 "pairs.") from None
        return cls(**values).check(source)

    @property
    def scales(self) -> tuple[int, ...]:
        """Inference crop sides matching training: the ends and the middle of the crop range."""
        low, high = self.crop_range
        return tuple(sorted({low, (low + high) // 2 // 32 * 32, high}))

    def scales_for(self, pixel_size_m: float) -> tuple[int, ...]:
        """Crop sides that cover the same ground as in training on a scene of another pixel size.

        Within the training pixel sizes (a multi-resolution model) the model's own sides, or those the file records
        for the scene's pixel size (`inference_scales`). Outside, the sides follow the ground resolution from the
        nearest trained size; on a scene coarser than the training data they fall below the model side and
        windows are enlarged: the model then sees the ground resolution it learned (at 10 m, a 3 m model read at
        10 m per model pixel misplaced the real chip's coast by 74 m; enlarged, by 20 m).
        """
        trained = self.trained_pixel_sizes()
        if trained is None or pixel_size_m <= 0:
            return self.sides_at(pixel_size_m)
        nearest = min(max(pixel_size_m, trained[0]), trained[1])
        factor = nearest / pixel_size_m
        return tuple(sorted({max(MIN_CROP_SIDE, round(side * factor)) for side in self.sides_at(nearest)}))

    def sides_at(self, pixel_size_m: float) -> tuple[int, ...]:
        """The crop sides chosen for scenes of this pixel size (`inference_scales`), else `scales`."""
        chosen = [sides for from_m, sides in sorted(self.inference_scales) if pixel_size_m >= from_m]
        return tuple(sorted(set(chosen[-1]))) if chosen else self.scales

    def trained_pixel_sizes(self) -> tuple[float, float] | None:
        """The smallest and largest training pixel size, or None when unknown."""
        if self.pixel_size_range_m:
            return self.pixel_size_range_m
        return (self.pixel_size_m, self.pixel_size_m) if self.pixel_size_m else None


def create_model(meta: ModelMeta):
    """The network a ModelMeta describes (segmentation-models-pytorch), without pretrained weights."""
    import segmentation_models_pytorch as smp

    architectures = {name.lower(): name for name in smp.MODEL_ARCHITECTURES_MAPPING}
    if meta.architecture.lower() not in architectures:
        raise ModelFileError(f"Unknown architecture '{meta.architecture}'. Valid: {', '.join(sorted(architectures))}.")
    encoders = smp.encoders.get_encoder_names()
    if meta.encoder not in encoders and not meta.encoder.startswith("tu-"):
        raise ModelFileError(f"Unknown encoder '{meta.encoder}'. Valid include: {', '.join(sorted(encoders)[:40])} "
                             "... and tu-<any timm model>.")
    return smp.create_model(meta.architecture, encoder_name=meta.encoder, encoder_weights=None,
                            in_channels=meta.in_channels, classes=len(meta.classes))


def safetensors_size(tensors: dict, metadata: dict[str, str]) -> int:
    """Bytes a safetensors file of these tensors and metadata takes, about (its JSON header estimated)."""
    return (sum(tensor.numel() * tensor.element_size() for tensor in tensors.values())
            + len(json.dumps(metadata)) + 128 * len(tensors) + 8)


def save_weights(path: str | os.PathLike, network, metadata: dict[str, str], half: bool = False) -> Path:
    """Write a network's weights with header metadata atomically; `half` stores float tensors as fp16 (half the
    size). Both model kinds (ensemble members here, context models in models/context.py) are written by it.
    The disk's space is checked first; a failed save raises OutputError and leaves the previous file whole."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {}
    for name, tensor in network.state_dict().items():
        tensor = tensor.detach().to("cpu").contiguous()
        tensors[name] = tensor.half() if half and tensor.dtype == torch.float32 else tensor
    with replace_on_success(path, "the model file", safetensors_size(tensors, metadata)) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    return path


def load_weights(network, path: Path, described: str):
    """Load a model file's weights into the network its metadata describes (`described`, for the message), as fp32,
    in eval mode; names any missing, unexpected or wrongly shaped tensor."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except SafetensorError as error:
        raise ModelFileError(f"'{path.name}' is corrupt: {error}.") from None
    expected = network.state_dict()
    missing = sorted(expected.keys() - tensors.keys())
    unexpected = sorted(tensors.keys() - expected.keys())
    wrong_shape = sorted(key for key in expected.keys() & tensors.keys() if expected[key].shape != tensors[key].shape)
    if missing or unexpected or wrong_shape:
        details = [f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                   for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
                   if keys]
        raise ModelFileError(f"The weights in '{path.name}' do not match its metadata ({described}): "
                             + "; ".join(details) + ".")
    network.load_state_dict({key: value.float() if value.is_floating_point() else value
                             for key, value in tensors.items()})
    return network.eval()


def save_model(path: str | os.PathLike, model, meta: ModelMeta, half: bool = False) -> Path:
    """Write weights and metadata atomically; `half` stores float tensors as fp16 (half the size)."""
    meta.check()
    return save_weights(path, model, {METADATA_KEY: meta.to_json()}, half)


MAX_HEADER_BYTES = 100_000_000


def _safetensors_header(handle, file_size: int) -> dict | None:
    """The JSON header when the file is laid out as safetensors (header length, then that much JSON), else None.

    Told apart by its own structure, not by a magic byte: the length is little-endian, so its first byte can be
    anything, 0x80 (a pickle's first byte) included.
    """
    head = handle.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack("<Q", head)
    if size < 2 or size > min(MAX_HEADER_BYTES, file_size - 8):
        return None
    text = handle.read(size)
    if not text.lstrip().startswith(b"{"):
        return None
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


def read_meta(path: str | os.PathLike) -> ModelMeta:
    """The metadata of a model file, read from its header alone (no tensors)."""
    path = Path(path)
    name = path.name
    try:
        with open(path, "rb") as handle:
            header = _safetensors_header(handle, os.fstat(handle.fileno()).st_size)
            if header is None:
                handle.seek(0)
                start = handle.read(2)
    except FileNotFoundError:
        raise ModelFileError(f"The model file '{path}' does not exist.") from None
    except IsADirectoryError:
        raise ModelFileError(f"'{path}' is a folder; give a model file (.safetensors) or a manifest (.json).") from None
    except OSError as error:
        raise ModelFileError(f"Cannot read the model file '{path}': {error.strerror}.") from None
    if header is None:
        if start[:2] == b"PK" or start[:1] == b"\x80":
            raise ModelFileError(f"'{name}' is a pickle (torch.save) file. Pickles can execute code on load and "
                                 "are refused: use a SAR Coastline model file (.safetensors).")
        if not start:
            raise ModelFileError(f"'{name}' is empty, not a model file.")
        raise ModelFileError(f"'{name}' is not a safetensors model file (its header is truncated or unreadable).")
    metadata = header.get("__metadata__") or {}
    if METADATA_KEY not in metadata:
        raise ModelFileError(f"'{name}' holds weights but no SAR Coastline metadata; it cannot say how to use them.")
    return ModelMeta.from_json(metadata[METADATA_KEY], source=f"'{name}'")


@dataclass
class LoadedModel:
    path: Path
    meta: ModelMeta
    network: object  # torch.nn.Module in eval mode, float32 on the CPU


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Build the network a model file describes and load its weights; names any mismatch."""
    meta = read_meta(path)
    described = f"{meta.architecture}/{meta.encoder}, {len(meta.classes)} classes"
    return LoadedModel(Path(path), meta, load_weights(create_model(meta), Path(path), described))


def write_manifest(path: str | os.PathLike, members: list[tuple[str, float]]) -> Path:
    """An ensemble manifest: member files (relative to the manifest) and their weights."""
    path = Path(path)
    payload = {"format": MANIFEST_FORMAT,
               "members": [{"file": os.path.relpath(Path(file).resolve(), path.resolve().parent), "weight": weight}
                           for file, weight in members]}
    with replace_on_success(path, "the ensemble manifest") as temporary:
        temporary.write_text(json.dumps(payload, indent=2))
    return path


def read_manifest(path: str | os.PathLike) -> list[tuple[Path, float]]:
    """(member path, weight) pairs; each member's metadata is checked."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"Cannot read the ensemble manifest '{path.name}': {error}.") from None
    if payload.get("format") != MANIFEST_FORMAT or not payload.get("members"):
        raise ModelFileError(f"'{path.name}' is not an ensemble manifest ({MANIFEST_FORMAT} with members).")
    members = []
    for member in payload["members"]:
        file = (path.parent / member["file"]).resolve()
        weight = float(member.get("weight", 1.0))
        if weight <= 0:
            raise ModelFileError(f"Member '{member['file']}' of '{path.name}' has weight {weight}; "
                                 "weights must be > 0.")
        read_meta(file)
        members.append((file, weight))
    return members
