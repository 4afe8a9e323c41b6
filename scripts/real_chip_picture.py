"""docs/real_chip_extracted.png: the bundled model's coastline on the Sentinel-1 test chip (cross-pol band),
with the reference sea boundary. Run: PYTHONPATH=.pkg .venv/bin/python -m sar_coastline.scripts.real_chip_picture"""

from pathlib import Path

from ..core.config import ExtractConfig, InferenceConfig
from ..core.evaluation.metric import evaluate
from ..core.evaluation.report import write_quicklook
from ..core.io.vectors import read_lines
from ..core.methods.registry import ORIENTATION_FREE
from ..core.pipeline.extract import extract

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def main() -> None:
    result = extract(str(DATA / "labrador_s1_chip.tif"), ExtractConfig(
        method=ORIENTATION_FREE, band=2, inference=InferenceConfig(device="cpu")))
    reference = read_lines(f"{DATA / 'labrador_s1_reference.gpkg'}:coastline", result.scene.crs_wkt)
    lines = [line.coords for line in result.lines]
    score, _distances = evaluate(lines, reference)
    path = write_quicklook(ROOT / "docs" / "real_chip_extracted.png", result.scene.read_db(), result.scene.geotransform,
                           lines, reference, title=f"Sentinel-1 chip, bundled model: score {score.score:.1f} m")
    print(path, f"score {score.score:.2f} m")


if __name__ == "__main__":
    main()
