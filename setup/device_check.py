"""Check device: what torch sees (versions, GPUs, memory) and how fast the bundled model runs. No QGIS here."""

from __future__ import annotations

import importlib.util
import platform
import time
from pathlib import Path

from ..core.hooks import RunHooks, as_hooks
from ..models.context import is_context_model
from ..models.modelfile import load_model
from .dependencies import probe_gpus

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


def bundled_model() -> Path | None:
    """The bundled ensemble model (the context model of the coarse-to-fine method is not timed here)."""
    found = sorted(path for path in BUNDLED_MODEL_DIR.glob("*.safetensors") if not is_context_model(path))
    return found[0] if found else None


def forward_ms(network, side: int, device: str, batch: int = 1, repeats: int = 3) -> float:
    """Median milliseconds of one forward pass of a (batch, 1, side, side) input, after a warm-up."""
    import torch

    network = network.to(device)
    sample = torch.rand(batch, 1, side, side, device=device)
    times = []
    with torch.inference_mode():
        for index in range(repeats + 1):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            network(sample)
            if device == "cuda":
                torch.cuda.synchronize()
            if index:  # the first pass warms up (cuDNN autotuning, allocations)
                times.append((time.perf_counter() - start) * 1000.0)
    return sorted(times)[len(times) // 2]


def device_report(hooks: RunHooks | None = None, timing: bool = True, model_path: str | None = None) -> dict:
    """Versions, devices and forward timings; every line also goes to the log. Works without torch installed."""
    hooks = as_hooks(hooks)
    report: dict = {"python": platform.python_version(), "torch": None, "cuda": None, "gpus": [], "cpu_ms": None,
                    "gpu_ms": None, "model": None}
    driver_gpus = probe_gpus(platform.system())
    for gpu in driver_gpus:
        hooks.log(f"NVIDIA driver {gpu.driver}: {gpu.name}, {gpu.memory_mib / 1024:.1f} GiB.")
    if importlib.util.find_spec("torch") is None:
        hooks.log("torch is not installed: only the classical method runs. Run Install dependencies to add it.")
        report["gpus"] = [{"name": gpu.name, "memory_gb": round(gpu.memory_mib / 1024, 1)} for gpu in driver_gpus]
        return report
    hooks.progress(5)
    import torch

    report["torch"] = torch.__version__
    report["cuda"] = torch.version.cuda
    hooks.log(f"torch {torch.__version__}, built with CUDA {torch.version.cuda or 'none (a CPU build)'}.")
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            report["gpus"].append({"name": properties.name, "memory_gb": round(properties.total_memory / 2**30, 1)})
            hooks.log(f"GPU {index}: {properties.name}, {properties.total_memory / 2**30:.1f} GiB.")
    elif driver_gpus:
        hooks.log("The driver reports a GPU but torch cannot use it: a CPU build of torch, or a driver too old for "
                  "its CUDA. Run Install dependencies with the CUDA build.")
    else:
        hooks.log("torch sees no GPU: models run on the CPU.")
    if not timing:
        return report
    path = Path(model_path) if model_path else bundled_model()
    if path is None or not path.is_file():
        hooks.log("No bundled model found: no timing.")
        return report

    hooks.check_cancel()
    loaded = load_model(path)
    side = loaded.meta.model_side
    report["model"] = f"{path.name} ({loaded.meta.architecture}/{loaded.meta.encoder}, {side} x {side} px)"
    hooks.progress(30)
    report["cpu_ms"] = round(forward_ms(loaded.network, side, "cpu"), 1)
    hooks.log(f"Forward pass of {report['model']} on the CPU: {report['cpu_ms']} ms per tile.")
    hooks.progress(70)
    hooks.check_cancel()
    if torch.cuda.is_available():
        report["gpu_ms"] = round(forward_ms(loaded.network, side, "cuda"), 1)
        hooks.log(f"The same on the GPU: {report['gpu_ms']} ms per tile (fp32, batch 1; Extract runs bigger "
                  "batches in bf16, faster per tile).")
    hooks.progress(100)
    return report
