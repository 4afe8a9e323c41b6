"""How far seaward of the water line the datum line lies on the bundled model's training scenes: scores the
generator's water line moved 0-7 px seaward against the datum line. The best shift is bench_accuracy's
TIDE_PRIOR_PX.

    python -m sar_coastline.benchmarks.tide_prior --count 36
"""

from __future__ import annotations

import argparse

import numpy as np

from ..core.evaluation.metric import evaluate
from ..synthetic.scenes import generate_scene, shifted_water_lines
from ..training.cli import GENERATED_STYLES, TRAINING_SEED_BASE

SHIFTS_PX = tuple(range(8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=36, help="training scenes, as make train-default generates them")
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    scores = []
    for index in range(args.count):
        seed, style = TRAINING_SEED_BASE + index, GENERATED_STYLES[index % len(GENERATED_STYLES)]
        scene = generate_scene(args.size, args.size, seed, style)
        scores.append([evaluate(shifted_water_lines(scene, shift), scene.datum_lines)[0].score
                       for shift in SHIFTS_PX])
        print(f"{style}_{seed}: " + " ".join(f"{shift} px {score:6.2f}" for shift, score in zip(SHIFTS_PX, scores[-1])),
              flush=True)
    means = np.mean(scores, axis=0)
    print("mean: " + " ".join(f"{shift} px {score:6.2f}" for shift, score in zip(SHIFTS_PX, means)))
    print(f"best shift: {SHIFTS_PX[int(np.argmin(means))]} px")


if __name__ == "__main__":
    main()
