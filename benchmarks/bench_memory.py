"""make bench-memory: wall time and peak RSS of whole-scene extractions at about 25 and about 400 Mpx, per method.

Every method (--methods: classical, then Extract's default method or the ones given) extracts the same scenes, each
extraction in a fresh process that reports its wall time and peak resident memory (VmHWM). The scenes are VRT
mosaics of one generated 2048 px tile of 10 m pixels (bench_infer's scene_file: no big file is written), so the
large one is the size of a Sentinel-1 IW scene (~400 Mpx at 10 m). --sides makes them smaller for a quick check.

The targets, for each method but classical, on the large scene: at most 15 minutes of wall time, at most 3x
classical's, and a peak RSS at most 2x the small scene's (a streamed method holds no whole-scene array).

The model rows are bench_infer's memory probe on its own 3 m scenes of the same sides: the CPU, the bundled default
model (else a random U-Net/EfficientNet-B0), one scale; they take long on a CPU (--skip-model leaves them out).
Prints a table and a targets line per method, then, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIDES = (5120, 20480)  # 26 and 419 Mpx, as bench_infer's memory row
PIXEL_SIZE_M = 10.0  # Sentinel-1 IW GRDH, the scene size the large side stands for
MAX_LARGE_WALL_S = 15 * 60
MAX_WALL_RATIO_TO_CLASSICAL = 3.0
MAX_RSS_RATIO = 2.0


def method_probe(method: str, path: str) -> None:
    """One extraction with `method` in this (fresh) process; prints its figures as JSON."""
    from ..core.config import ExtractConfig
    from ..core.pipeline.extract import extract
    from .bench_infer import peak_rss_mb

    before = peak_rss_mb()
    started = time.perf_counter()
    result = extract(path, ExtractConfig(method=method))
    print(json.dumps({"scene_mpx": round(result.scene.width * result.scene.height / 1e6, 1),
                      "wall_s": round(time.perf_counter() - started, 2), "lines": len(result.lines),
                      "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(before)}))


def child(*args: str) -> str:
    """Run this module with `args` in a fresh process; its last line of output."""
    completed = subprocess.run([sys.executable, "-m", "sar_coastline.benchmarks.bench_memory", *args],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"bench_memory {' '.join(args)} failed:\n{completed.stderr}")
    return completed.stdout.strip().splitlines()[-1]


def method_rows(method: str, scenes: dict[int, str]) -> dict[int, dict]:
    rows = {}
    for side, scene in scenes.items():
        rows[side] = json.loads(child("--probe", method, scene))
        print(f"{method}: {rows[side]['scene_mpx']:7.1f} Mpx  peak RSS {rows[side]['peak_rss_mb']:6d} MB  "
              f"({rows[side]['wall_s']:.1f} s, {rows[side]['lines']} lines)", flush=True)
    return rows


def method_figures(rows: dict[int, dict], classical: dict[int, dict], sides: tuple[int, int]) -> dict:
    """Walls and peaks at the small and the large side, the large/small RSS ratio, the large wall over classical's."""
    small, large = (rows[side] for side in sides)
    return {"wall_s": [small["wall_s"], large["wall_s"]], "peak_rss_mb": [small["peak_rss_mb"], large["peak_rss_mb"]],
            "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
            "wall_ratio_to_classical": round(large["wall_s"] / classical[sides[1]]["wall_s"], 2)}


def target_checks(figures: dict) -> dict[str, bool]:
    """Each target, described with the method's figure, and whether it holds."""
    wall, wall_ratio, rss_ratio = figures["wall_s"][1], figures["wall_ratio_to_classical"], figures["rss_ratio"]
    return {f"large-scene wall {wall:.0f} s <= {MAX_LARGE_WALL_S} s": wall <= MAX_LARGE_WALL_S,
            f"{wall_ratio:.2f}x classical's wall <= {MAX_WALL_RATIO_TO_CLASSICAL:g}x":
                wall_ratio <= MAX_WALL_RATIO_TO_CLASSICAL,
            f"RSS ratio {rss_ratio:.2f} <= {MAX_RSS_RATIO:g}": rss_ratio <= MAX_RSS_RATIO}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=(),
                        help="registered methods to run after classical, which always runs as the reference "
                             "(default: Extract's default method, when not classical)")
    parser.add_argument("--sides", type=int, nargs=2, default=SIDES, metavar=("SMALL", "LARGE"),
                        help=f"scene sides in px (default: {SIDES[0]} {SIDES[1]}, about 25 and 400 Mpx)")
    parser.add_argument("--skip-model", action="store_true", help="leave out bench_infer's model rows (an hour "
                        "or more on a CPU)")
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make-scene", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        method_probe(*args.probe)
        return
    if args.make_scene:
        from .bench_infer import scene_file

        print(scene_file(Path(args.make_scene[0]), int(args.make_scene[1]), pixel_size=PIXEL_SIZE_M))
        return
    # Only here, not at the top: the probes import this module, and these imports would add to their peaks.
    from ..core.config import DEFAULT_METHOD
    from ..core.methods import registry
    from ..core.methods.registry import CLASSICAL

    unknown = [method for method in args.methods if method not in registry.names()]
    if unknown:
        parser.error(f"unknown methods {', '.join(unknown)}; registered: {', '.join(registry.names())}")
    methods = list(dict.fromkeys([CLASSICAL, *(args.methods or [DEFAULT_METHOD])]))
    sides = tuple(args.sides)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        # The scenes are made in children too: where VmHWM is missing, a child's ru_maxrss starts at its parent's
        # peak, so this process must stay small.
        scenes = {side: child("--make-scene", folder, str(side)) for side in sides}
        for method in methods:
            rows[method] = method_rows(method, scenes)
    figures = {method: method_figures(rows[method], rows[CLASSICAL], sides) for method in methods}
    checks = {method: target_checks(figures[method]) for method in methods if method != CLASSICAL}
    for method, method_checks in checks.items():
        figures[method]["targets_met"] = all(method_checks.values())
    small, large = (rows[CLASSICAL][side] for side in sides)
    result = {"classical_rss_25_mb": small["peak_rss_mb"], "classical_rss_400_mb": large["peak_rss_mb"],
              "classical_rss_ratio": figures[CLASSICAL]["rss_ratio"],
              "model_rss_25_mb": None, "model_rss_400_mb": None, "model_rss_ratio": None,
              "mpx": [small["scene_mpx"], large["scene_mpx"]], "sides": list(sides), "pixel_size_m": PIXEL_SIZE_M,
              "classical_wall_s": figures[CLASSICAL]["wall_s"], "cpu_count": os.cpu_count(),
              "default": DEFAULT_METHOD, "methods": figures}
    if not args.skip_model:
        from .bench_infer import memory_row

        model = memory_row(sides)
        result.update({"model_rss_25_mb": model["rss_25mpx_mb"], "model_rss_400_mb": model["rss_400mpx_mb"],
                       "model_rss_ratio": model["rss_ratio"]})
    sizes = [f"{mpx:g} Mpx" for mpx in result["mpx"]]
    header = (f"{'method':>18} | {sizes[0] + ' s':>12} | {sizes[0] + ' MB':>12} | {sizes[1] + ' s':>12} | "
              f"{sizes[1] + ' MB':>12} | {'RSS ratio':>9} | {'wall/classical':>14}")
    print(header)
    print("-" * len(header))
    for method, values in figures.items():
        print(f"{method:>18} | {values['wall_s'][0]:12.1f} | {values['peak_rss_mb'][0]:12d} | "
              f"{values['wall_s'][1]:12.1f} | {values['peak_rss_mb'][1]:12d} | {values['rss_ratio']:9.2f} | "
              f"{values['wall_ratio_to_classical']:14.2f}")
    if not args.skip_model:
        print(f"{'model (cpu fast)':>18} | {'-':>12} | {result['model_rss_25_mb']:12d} | {'-':>12} | "
              f"{result['model_rss_400_mb']:12d} | {result['model_rss_ratio']:9.2f} | {'-':>14}")
    for method, method_checks in checks.items():
        print(f"{method}: targets {'hold' if figures[method]['targets_met'] else 'missed'}: "
              + ", ".join(f"{check} ({'yes' if holds else 'no'})" for check, holds in method_checks.items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
