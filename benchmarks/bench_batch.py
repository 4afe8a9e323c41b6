"""make bench-batch: scenes per minute of the batch runner (classical method) with 1 and 2 local Dask workers, and
each worker's peak memory.

Four generated scenes are copied to --count files (the runner sees --count scenes); each run starts its own
LocalCluster of worker processes, and its time counts from the call to the last scene written, cluster start-up
included. Prints a table and, last, one JSON line.
"""

import argparse
import json
import os
import shutil
import tempfile
import time

from osgeo import ogr

from ..core.pipeline.batch import BatchConfig, run_batch
from ..synthetic.scenes import generate_scene, write_scene

STYLES = (("beach", 501), ("rocky", 502), ("estuary", 503), ("mixed", 504))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2048, help="scene side in pixels")
    parser.add_argument("--count", type=int, default=16, help="scenes per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        originals = []
        for style, seed in STYLES:
            paths = write_scene(generate_scene(args.size, args.size, seed, style), folder, f"{style}_{seed}")
            originals.append(paths.image)
        sources = []
        for index in range(args.count):
            copy = os.path.join(folder, f"scene_{index:03d}.tif")
            shutil.copyfile(originals[index % len(originals)], copy)
            sources.append(copy)
        for workers in args.workers:
            output = os.path.join(folder, f"batch_{workers}.gpkg")
            started = time.perf_counter()
            result = run_batch(sources, output, BatchConfig(workers=workers))
            seconds = time.perf_counter() - started
            peak = _peak_per_worker(output)
            rows.append({"workers": workers, "scenes": len(result.done), "failed": len(result.failed),
                         "seconds": round(seconds, 1), "scenes_per_min": round(len(result.done) / seconds * 60, 1),
                         "s_per_scene_in_worker": round(sum(o.seconds for o in result.done) / len(result.done), 2),
                         "peak_rss_mb_per_worker": peak})
    print(f"{args.count} scenes of {args.size} x {args.size} px ({args.size ** 2 / 1e6:.1f} Mpx), classical method, "
          f"{os.cpu_count()} CPU cores")
    print(f"{'workers':>8} {'seconds':>8} {'scenes/min':>11} {'s/scene in worker':>18}  peak RSS per worker (MB)")
    for row in rows:
        print(f"{row['workers']:>8} {row['seconds']:>8} {row['scenes_per_min']:>11} {row['s_per_scene_in_worker']:>18}"
              f"  {row['peak_rss_mb_per_worker']}")
    print(json.dumps({"benchmark": "batch", "size": args.size, "count": args.count, "cores": os.cpu_count(),
                      "runs": rows}))


def _peak_per_worker(path: str) -> dict:
    dataset = ogr.Open(path)
    peak = {}
    for feature in dataset.GetLayerByName("status"):
        worker = feature.GetField("worker")
        peak[worker] = max(peak.get(worker, 0.0), feature.GetField("peak_rss_mb"))
    dataset = None
    return peak


if __name__ == "__main__":
    main()
