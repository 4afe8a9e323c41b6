"""make bench-infer: end-to-end extraction speed against the raw forward ceiling, measured in one run.

GPU (default when torch sees one): the 4 models of the paper's table 1 (random weights), 3 scales, a ~26 Mpx
scene. CPU fast (default without a GPU, or --cpu-fast): one U-Net/EfficientNet-B0 at one scale: the bundled
default model when installed (a trained model gives the extraction a realistic map to work on; random
weights give noise and thousands of spurious contours), else random weights.
--memory: peak RSS of the CPU fast extraction at ~25 and ~400 Mpx, each in a fresh process.

Ceiling: the same models on random batches of the same size already on the device (the engine cuts its
tiles from scene rows held there, so no batch crosses from the host), forward only, same device and precision.
Achieved: model-input megapixels of the run (tiles the models ran on, i.e. with data, x model side^2) over its
wall time (read, tile, infer, merge, smooth, extract, vectorize, write). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..core.config import ExtractConfig, InferenceConfig
from ..core.inference.loading import resolve_models
from ..core.inference.predict import EnsemblePredictor, ScenePass
from ..core.lines.vectorize import write_lines
from ..core.methods.registry import ORIENTATION_FREE
from ..core.pipeline.extract import extract
from ..models.modelfile import HEADS, ModelMeta, create_model, load_model, save_model
from ..synthetic.scenes import REFERENCE_PIXEL_M, generate_scene, write_scene

TABLE_1 = (("efficientnet-b4", "softmax_coast", "log"), ("efficientnet-b4", "softmax", "log"),
           ("efficientnet-b3", "sigmoid", "log"), ("efficientnet-b3", "sigmoid", "linear"))
CPU_FAST = (("efficientnet-b0", "softmax", "log"),)


def build_models(folder: Path, specs, seed: int = 0) -> list[Path]:
    import torch

    torch.manual_seed(seed)
    paths = []
    for index, (encoder, head, transform) in enumerate(specs):
        meta = ModelMeta(architecture="Unet", encoder=encoder, head=head, classes=HEADS[head],
                         input_transform=transform, provenance={"data": "random weights (benchmark)"})
        paths.append(save_model(folder / f"m{index}_{encoder}_{head}_{transform}.safetensors", create_model(meta),
                                meta))
    return paths


def cpu_fast_models(folder: Path) -> tuple[list[Path], str]:
    """The bundled default model when installed, else one random U-Net/EfficientNet-B0."""
    members = resolve_models(())
    if len(members) == 1:
        return [members[0][0]], f"bundled {members[0][0].name}"
    return build_models(folder, CPU_FAST), "random U-Net/efficientnet-b0"


def scene_file(folder: Path, side: int, seed: int = 5, pixel_size: float = REFERENCE_PIXEL_M) -> Path:
    """A side x side GeoTIFF-backed scene: a generated 2048 px scene of `pixel_size` m pixels mosaicked in a VRT
    (no big file)."""
    from osgeo import gdal

    tile = write_scene(generate_scene(2048, 2048, seed, "mixed", pixel_size), folder, "tile").image
    count = -(-side // 2048)
    sources = []
    for row in range(count):
        for col in range(count):
            sources.append(
                f'<SimpleSource><SourceFilename relativeToVRT="0">{tile}</SourceFilename><SourceBand>1</SourceBand>'
                f'<SrcRect xOff="0" yOff="0" xSize="2048" ySize="2048"/>'
                f'<DstRect xOff="{col * 2048}" yOff="{row * 2048}" xSize="2048" ySize="2048"/></SimpleSource>')
    reference = gdal.Open(str(tile))
    gt = reference.GetGeoTransform()
    vrt = (f'<VRTDataset rasterXSize="{side}" rasterYSize="{side}"><SRS>{reference.GetProjection()}</SRS>'
           f'<GeoTransform>{", ".join(map(str, gt))}</GeoTransform>'
           f'<VRTRasterBand dataType="UInt16" band="1"><NoDataValue>0</NoDataValue>{"".join(sources)}'
           f'</VRTRasterBand></VRTDataset>')
    path = folder / f"scene_{side}.vrt"
    path.write_text(vrt)
    return path


def ceiling(paths, device: str, precision: str, batch_size: int, seconds: float = 20.0) -> tuple[float, str]:
    """Model-input Mpx/s of the ensemble on random batches: forward only, as the engine runs it."""
    import torch

    predictor = EnsemblePredictor([(load_model(path), 1.0) for path in paths], device, precision, batch_size)
    scene_pass = ScenePass(predictor.batch_size, percentiles=(-25.0, 0.0))  # any scene's; only speed is measured
    side = predictor.model_side
    batch = torch.rand(predictor.batch_size, 1, side, side, device=predictor.device) * 30 - 25  # dB
    predictor(batch, scene_pass)  # warm-up: kernels, cudnn autotune
    synchronize = torch.cuda.synchronize if predictor.device == "cuda" else (lambda: None)
    synchronize()
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds or count < 2:
        predictor(batch, scene_pass)
        count += 1
    synchronize()
    elapsed = time.perf_counter() - started
    return count * batch.shape[0] * side * side / 1e6 / elapsed, predictor.device


def end_to_end(scene: Path, paths, config: ExtractConfig, output: Path) -> dict:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = extract(str(scene), config)
    write_lines(str(output), result.lines, result.scene.crs_wkt)
    wall = time.perf_counter() - started
    meta = load_model(paths[0]).meta
    tiles = result.figures["tiles_with_data"]  # all-no-data tiles are skipped, not model work
    model_input_mpx = tiles * meta.model_side**2 / 1e6
    return {"scene_mpx": round(result.scene.width * result.scene.height / 1e6, 1), "tiles": tiles,
            "tiles_in_grid": result.figures["tiles"],
            "model_input_mpx": round(model_input_mpx, 1), "wall_s": round(wall, 2),
            "achieved_mpx_s": model_input_mpx / wall, "lines": len(result.lines),
            "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if torch.cuda.is_available() else 0}


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec,
    so a probe started by a big process would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(side: int) -> None:
    """One extraction in this (fresh) process; prints its peak RSS as JSON."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        paths, _description = cpu_fast_models(folder)
        scene = scene_file(folder, side)
        largest = load_model(paths[0]).meta.crop_range[1]
        config = ExtractConfig(method=ORIENTATION_FREE, models=tuple(map(str, paths)), inference=InferenceConfig(
            scales=(largest,), overlap=0.0, device="cpu", batch_size=4))
        before = peak_rss_mb()
        figures = end_to_end(scene, paths, config, folder / "coast.geojson")
        print(json.dumps({"side": side, "scene_mpx": figures["scene_mpx"], "wall_s": figures["wall_s"],
                          "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(before)}))


def memory_row(sides: tuple[int, int] = (5120, 20480)) -> dict:
    """Peak RSS of the memory probe at the small and the large side (~25 and ~400 Mpx by default)."""
    rows = {}
    for side in sides:
        completed = subprocess.run([sys.executable, "-m", "sar_coastline.benchmarks.bench_infer", "--memory-probe",
                                    str(side)], capture_output=True, text=True, check=True)
        rows[side] = json.loads(completed.stdout.strip().splitlines()[-1])
        print(f"memory: {rows[side]['scene_mpx']:7.1f} Mpx  peak RSS {rows[side]['peak_rss_mb']:6d} MB  "
              f"({rows[side]['wall_s']:.0f} s)", flush=True)
    small, large = (rows[side] for side in sides)
    return {"rss_25mpx_mb": small["peak_rss_mb"], "rss_400mpx_mb": large["peak_rss_mb"],
            "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
            "mpx": [small["scene_mpx"], large["scene_mpx"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-fast", action="store_true", help="one small model, one scale, on the CPU")
    parser.add_argument("--memory", action="store_true", help="also the peak-RSS row at ~25 and ~400 Mpx (CPU)")
    parser.add_argument("--memory-probe", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, default=5120, help="scene side in px (5120 = 26 Mpx)")
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
        return
    import torch

    fast = args.cpu_fast or not torch.cuda.is_available()
    device = "cpu" if fast else "cuda"
    batch_size = args.batch_size or (4 if fast else 96)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if fast:
            paths, description = cpu_fast_models(folder)
            scales = (load_model(paths[0]).meta.crop_range[0],)
        else:
            paths, description, scales = build_models(folder, TABLE_1), "table-1 ensemble, random weights", None
        scene = scene_file(folder, args.side)
        config = ExtractConfig(method=ORIENTATION_FREE, models=tuple(map(str, paths)), inference=InferenceConfig(
            scales=scales, device=device, batch_size=batch_size))
        figures = end_to_end(scene, paths, config, folder / "coast.geojson")
        ceiling_mpx_s, used = ceiling(paths, device, "auto", batch_size, seconds=10 if fast else 20)
    name = torch.cuda.get_device_name(0) if used == "cuda" else f"cpu ({os.cpu_count()} cores)"
    ratio = figures["achieved_mpx_s"] / ceiling_mpx_s
    print(f"variant: {'cpu-fast' if fast else 'table-1'}: {description}, scales {list(scales or ['models'])}")
    print(f"{'device':>8} | {'scene Mpx':>9} | {'tiles':>5} | {'input Mpx':>9} | {'wall s':>7} | "
          f"{'ceiling Mpx/s':>13} | {'achieved Mpx/s':>14} | {'ratio':>5}")
    print(f"{used:>8} | {figures['scene_mpx']:9.1f} | {figures['tiles']:5d} | {figures['model_input_mpx']:9.1f} | "
          f"{figures['wall_s']:7.1f} | {ceiling_mpx_s:13.2f} | {figures['achieved_mpx_s']:14.2f} | {ratio:5.2f}")
    result = {"device": name, "variant": "cpu-fast" if fast else "table-1", "models": description,
              "scene_mpx": figures["scene_mpx"],
              "model_input_mpx": figures["model_input_mpx"], "wall_s": figures["wall_s"],
              "ceiling_mpx_s": round(ceiling_mpx_s, 3), "achieved_mpx_s": round(figures["achieved_mpx_s"], 3),
              "ratio": round(ratio, 3), "peak_rss_mb": round(peak_rss_mb()), "peak_gpu_mb": figures["peak_gpu_mb"]}
    if args.memory:
        result.update(memory_row())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
