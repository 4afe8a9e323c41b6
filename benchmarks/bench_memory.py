"""make bench-memory: peak RSS of the classical and the model method at about 25 and about 400 Mpx.

Each extraction runs in a fresh process and reports its peak resident memory (getrusage ru_maxrss). The
scenes are VRT mosaics of one generated 2048 px tile (bench_infer's scene_file: no big file is written). The
model rows are bench_infer's memory probe: the CPU, the bundled default model (else a random
U-Net/EfficientNet-B0), one scale; they take long on a CPU (--skip-model leaves them out).

The streamed methods hold no whole-scene array, so the 400 Mpx peak should stay within 2x the 25 Mpx peak.
Prints a table, then, last, one JSON line.
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


def classical_probe(path: str) -> None:
    """One classical extraction in this (fresh) process; prints its figures as JSON."""
    from ..core.config import ExtractConfig
    from ..core.methods.registry import CLASSICAL
    from ..core.pipeline.extract import extract
    from .bench_infer import peak_rss_mb

    before = peak_rss_mb()
    started = time.perf_counter()
    result = extract(path, ExtractConfig(method=CLASSICAL))
    print(json.dumps({"scene_mpx": round(result.scene.width * result.scene.height / 1e6, 1),
                      "wall_s": round(time.perf_counter() - started, 1), "lines": len(result.lines),
                      "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(before)}))


def child(*args: str) -> str:
    """Run this module with `args` in a fresh process; its last line of output."""
    completed = subprocess.run([sys.executable, "-m", "sar_coastline.benchmarks.bench_memory", *args],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"bench_memory {' '.join(args)} failed:\n{completed.stderr}")
    return completed.stdout.strip().splitlines()[-1]


def classical_rows(folder: Path) -> dict[int, dict]:
    rows = {}
    for side in SIDES:
        # The scene is made in a child too: a child's ru_maxrss starts at its parent's peak, so this process
        # must stay small.
        scene = child("--make-scene", str(folder), str(side))
        rows[side] = json.loads(child("--classical-probe", scene))
        print(f"classical: {rows[side]['scene_mpx']:7.1f} Mpx  peak RSS {rows[side]['peak_rss_mb']:6d} MB  "
              f"({rows[side]['wall_s']:.0f} s, {rows[side]['lines']} lines)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-model", action="store_true", help="only the classical rows (the model rows take "
                        "an hour or more on a CPU)")
    parser.add_argument("--classical-probe", help=argparse.SUPPRESS)
    parser.add_argument("--make-scene", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.classical_probe:
        classical_probe(args.classical_probe)
        return
    if args.make_scene:
        from .bench_infer import scene_file

        print(scene_file(Path(args.make_scene[0]), int(args.make_scene[1])))
        return
    with tempfile.TemporaryDirectory() as folder:
        classical = classical_rows(Path(folder))
    small, large = (classical[side] for side in SIDES)
    result = {"classical_rss_25_mb": small["peak_rss_mb"], "classical_rss_400_mb": large["peak_rss_mb"],
              "classical_rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
              "model_rss_25_mb": None, "model_rss_400_mb": None, "model_rss_ratio": None,
              "mpx": [small["scene_mpx"], large["scene_mpx"]],
              "classical_wall_s": [small["wall_s"], large["wall_s"]], "cpu_count": os.cpu_count()}
    if not args.skip_model:
        from .bench_infer import memory_row

        model = memory_row()
        result.update({"model_rss_25_mb": model["rss_25mpx_mb"], "model_rss_400_mb": model["rss_400mpx_mb"],
                       "model_rss_ratio": model["rss_ratio"]})
    print(f"{'method':>9} | {'~25 Mpx MB':>10} | {'~400 Mpx MB':>11} | {'ratio':>5}")
    for method in ("classical", "model"):
        figures = [result[f"{method}_rss_{size}"] for size in ("25_mb", "400_mb", "ratio")]
        print(f"{method:>9} | " + " | ".join(f"{'-' if value is None else value!s:>{width}}"
                                             for value, width in zip(figures, (10, 11, 5))))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
