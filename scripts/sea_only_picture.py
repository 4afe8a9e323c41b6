"""docs/sea_only_before.png and docs/sea_only_after.png: the classical method on a generated rocky scene of the second
held-out set with every water boundary (WATER 1) and with the sea-only rule (WATER 0, the default), over the
truth (the sea's water line). Run: PYTHONPATH=.pkg .venv/bin/python -m sar_coastline.scripts.sea_only_picture"""

import tempfile
from pathlib import Path

from ..core.config import ExtractConfig
from ..core.evaluation.metric import evaluate
from ..core.evaluation.report import write_quicklook
from ..core.lines.sea import ALL_WATER, SEA_ONLY
from ..core.pipeline.extract import extract
from ..synthetic.scenes import generate_scene, write_scene

ROOT = Path(__file__).resolve().parent.parent
SCENE = ("rocky", 3003, 2048, 2048)  # bench-accuracy's second set (--seed-base 3000), not the benchmark


def main() -> None:
    style, seed, width, height = SCENE
    scene = generate_scene(width, height, seed, style)
    with tempfile.TemporaryDirectory() as folder:
        image = write_scene(scene, folder, f"{style}_{seed}").image
        for water, name, label in ((ALL_WATER, "sea_only_before", "every water boundary (WATER 1)"),
                                   (SEA_ONLY, "sea_only_after", "sea only (WATER 0, the default)")):
            result = extract(str(image), ExtractConfig(method="classical", water=water))
            lines = [line.coords for line in result.lines]
            score, _distances = evaluate(lines, scene.truth_lines)
            title = (f"{style}_{seed}, classical, {label}: {sum(line.length_m for line in result.lines) / 1000:.1f} "
                     f"km, false coast {score.false_coast_m / 1000:.1f} km, score {score.score:.1f} m")
            path = write_quicklook(ROOT / "docs" / f"{name}.png", result.scene.read_db(), result.scene.geotransform,
                                   lines, scene.truth_lines, title=title)
            print(path, title)


if __name__ == "__main__":
    main()
