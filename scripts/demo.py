"""make demo: generate a scene, extract its coastline with the default method and with the coarse-to-fine method,
and score both, through qgis_process like a user would."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from ..synthetic.scenes import generate_scene, write_scene


def qgis_process(executable: str, algorithm: str, *arguments: str) -> dict:
    command = [executable, "run", algorithm, "--json", *arguments]
    print("$", " ".join(command), flush=True)
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        sys.exit(f"{algorithm} failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return json.loads(completed.stdout[completed.stdout.index("{"):])["results"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo_output"))
    parser.add_argument("--size", type=int, default=2048, help="scene side in pixels (3 m each)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--style", default="rocky")
    parser.add_argument("--qgis-process", default="/usr/bin/qgis_process.bin")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"Generating a {args.size} x {args.size} px {args.style} scene (seed {args.seed}) ...", flush=True)
    paths = write_scene(generate_scene(args.size, args.size, args.seed, args.style), args.out, "demo_scene")
    print()
    runs = (("the default method", "demo_coastline", ()),
            ("the coarse-to-fine method (METHOD 3)", "demo_coastline_coarse_to_fine", ("--METHOD=3",)))
    for label, stem, extra in runs:
        coast, quicklook = args.out / f"{stem}.gpkg", args.out / f"{stem.replace('coastline', 'quicklook')}.png"
        report = args.out / f"{stem.replace('coastline', 'report')}.html"
        for stale in (coast, quicklook, report):
            stale.unlink(missing_ok=True)  # the demo's own outputs from an earlier run
        extracted = qgis_process(args.qgis_process, "coastline:extractcoastline", f"--INPUT={paths.image}", *extra,
                                 f"--OUTPUT={coast}", f"--QUICKLOOK={quicklook}")
        scored = qgis_process(args.qgis_process, "coastline:evaluatecoastline", f"--PREDICTED={coast}",
                              f"--REFERENCE={paths.truth}|layername=coastline",
                              f"--POINTS={paths.truth}|layername=points", f"--REPORT={report}")
        print()
        print(f"With {label}:")
        print(f"Coastline:    {coast}  ({extracted['LINE_COUNT']:.0f} lines, {extracted['LENGTH_KM']:.2f} km)")
        print(f"Quicklook:    {quicklook}")
        print(f"Report:       {report}")
        print(f"Score: {scored['SCORE']:.2f} m (mean capped distance; median {scored['MEDIAN']:.2f} m, "
              f"p90 {scored['P90']:.2f} m, miss rate {scored['MISS_RATE']:.1%}, false coast "
              f"{scored['FALSE_COAST_M'] / 1000:.2f} km)", flush=True)
    print()
    print(f"Scene:        {paths.image}")
    print(f"Ground truth: {paths.truth}")

if __name__ == "__main__":
    main()
