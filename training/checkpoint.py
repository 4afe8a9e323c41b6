"""Training checkpoints without pickles: every tensor in one safetensors file, everything else (epoch, history,
optimizer settings, scheduler) as JSON in the same file's header, so the two can never disagree.

A checkpoint is written under a temporary name and renamed over the previous one: an interrupted or failed save
(a full disk) leaves the previous checkpoint whole, and a failed one raises OutputError saying why. Loading reads
tensors and JSON only; it never runs code from the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.errors import InputError
from ..core.io.writing import replace_on_success
from ..models.modelfile import safetensors_size

FORMAT = "sar-coastline-checkpoint/1"
METADATA_KEY = "sar_coastline_checkpoint"
OPTIMIZER = "optimizer"  # tensor keys: module name / state key, or OPTIMIZER / parameter index / state name


def write_checkpoint(path: str | os.PathLike, modules: dict, optimizer, scheduler, progress: dict) -> Path:
    """Save the modules' state dicts, the optimizer and scheduler states and `progress` (JSON-able) atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors, optimizer_values = {}, {}
    for name, module in modules.items():
        for key, tensor in module.state_dict().items():
            tensors[f"{name}/{key}"] = tensor.detach().to("cpu").contiguous()
    optimizer_state = optimizer.state_dict()
    for index, values in optimizer_state["state"].items():
        for key, value in values.items():
            if hasattr(value, "detach"):
                tensors[f"{OPTIMIZER}/{index}/{key}"] = value.detach().to("cpu").contiguous()
            else:
                optimizer_values.setdefault(str(index), {})[key] = value
    header = {"format": FORMAT, "progress": progress, "optimizer_param_groups": optimizer_state["param_groups"],
              "optimizer_values": optimizer_values, "scheduler": scheduler.state_dict()}
    metadata = {METADATA_KEY: json.dumps(header)}
    with replace_on_success(path, "the checkpoint", safetensors_size(tensors, metadata)) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)
    return path


def read_checkpoint(path: str | os.PathLike, modules: dict, optimizer, scheduler, device: str) -> dict:
    """Load a checkpoint into the modules, optimizer and scheduler; returns the saved `progress`."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device=device) as handle:
            header = json.loads((handle.metadata() or {})[METADATA_KEY])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        if header.get("format") != FORMAT:
            raise ValueError(f"format '{header.get('format')}', expected '{FORMAT}'")
        grouped: dict[str, dict] = {}
        for key, tensor in tensors.items():
            group, _, rest = key.partition("/")
            grouped.setdefault(group, {})[rest] = tensor
        for name, module in modules.items():
            module.load_state_dict(grouped.get(name, {}))
        state: dict[int, dict] = {}
        for key, tensor in grouped.get(OPTIMIZER, {}).items():
            index, _, name = key.partition("/")
            state.setdefault(int(index), {})[name] = tensor
        for index, values in header["optimizer_values"].items():
            state.setdefault(int(index), {}).update(values)
        groups = header["optimizer_param_groups"]
        for group, own in zip(groups, optimizer.param_groups):  # JSON has no tuples (Adam's betas): restore them
            group.update({key: tuple(value) for key, value in group.items() if isinstance(own.get(key), tuple)})
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        scheduler.load_state_dict(header["scheduler"])
        return header["progress"]
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError) as error:
        raise InputError(f"The checkpoint '{path.name}' cannot be resumed ({error}). Delete it to train this model "
                         "afresh, or choose another output folder.") from None
