"""make bench-classical: the classical method's accuracy and speed on generated scenes of each coast type.

Prints a table (score and friends per scene against the sea's water line, the datum score against the line a
tide offset away, wall time per Mpx) and, last, one JSON line.
"""

import argparse
import json
import os
import resource
import tempfile
import time

from ..core.config import ExtractConfig
from ..core.evaluation.metric import evaluate
from ..core.methods.registry import CLASSICAL
from ..core.pipeline.extract import extract
from ..synthetic.scenes import generate_scene, write_scene

SCENES = (("beach", 101), ("rocky", 202), ("estuary", 303), ("mixed", 404))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=3000, help="scene side in pixels")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for style, seed in SCENES:
            scene = generate_scene(args.size, args.size, seed, style)
            paths = write_scene(scene, folder, f"{style}_{seed}")
            started = time.perf_counter()
            result = extract(str(paths.image), ExtractConfig(method=CLASSICAL))
            seconds = time.perf_counter() - started
            score, _distances = evaluate([line.coords for line in result.lines], scene.truth_lines)
            datum, _distances = evaluate([line.coords for line in result.lines], scene.datum_lines)
            mpx = scene.dn.size / 1e6
            figures = {key: round(value, 2) for key, value in score.as_dict().items()}
            rows.append({"scene": f"{style}_{seed}", "mpx": round(mpx, 2), **figures, "datum": round(datum.score, 2),
                         "s_per_mpx": round(seconds / mpx, 3)})
    header = ("scene", "mpx", "score", "median", "p90", "miss_rate", "false_coast_m", "symmetric_m", "datum",
              "s_per_mpx")
    print(" | ".join(f"{name:>13}" for name in header))
    for row in rows:
        print(" | ".join(f"{row[name]!s:>13}" for name in header))
    mean = {key: round(sum(row[key] for row in rows) / len(rows), 3) for key in ("score", "datum", "s_per_mpx")}
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": "classical", "scenes": len(rows), "scene_px": args.size, "mean_score": mean["score"],
                      "mean_datum": mean["datum"], "s_per_mpx": mean["s_per_mpx"], "cpu_count": os.cpu_count(),
                      "peak_rss_mb": round(peak_rss_mb)}))


if __name__ == "__main__":
    main()
