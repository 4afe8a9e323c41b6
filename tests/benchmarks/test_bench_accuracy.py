"""bench_accuracy's per-pixel-size grouping and ratios to classical, on hand-made rows (no extraction runs)."""

import pytest

from sar_coastline.benchmarks.bench_accuracy import by_pixel_size, method_figures
from sar_coastline.core.methods.registry import CLASSICAL

OTHER = "some_method"  # any other registered or future method: the grouping must not depend on its name


def row(method, pixel_size, score, false_coast_m, miss_rate):
    return {"method": method, "pixel_size": pixel_size, "score": score, "false_coast_m": false_coast_m,
            "miss_rate": miss_rate}


ROWS = [
    row(CLASSICAL, 3.0, 10.0, 2000.0, 0.1),
    row(CLASSICAL, 3.0, 20.0, 4000.0, 0.3),
    row(CLASSICAL, 10.0, 40.0, 0.0, 0.0),
    row(OTHER, 3.0, 5.0, 1000.0, 0.0),
    row(OTHER, 3.0, 10.0, 2000.0, 0.2),
    row(OTHER, 10.0, 60.0, 500.0, 0.5),
    row("water line + 2 px", 3.0, 1.0, 0.0, 0.0),  # a row of a method not asked for is ignored
]


def test_groups_by_pixel_size_with_ratios_to_classical():
    grouped = by_pixel_size(ROWS, [CLASSICAL, OTHER])
    assert list(grouped) == ["3", "10"]
    assert grouped["3"][CLASSICAL] == pytest.approx({"score_m": 15.0, "false_km_per_scene": 3.0, "miss_rate": 0.2})
    assert grouped["3"][OTHER] == pytest.approx({"score_m": 7.5, "false_km_per_scene": 1.5, "miss_rate": 0.1,
                                                 "score_ratio_to_classical": 0.5,
                                                 "false_ratio_to_classical": 0.5})
    assert grouped["10"][OTHER] == {"score_m": 60.0, "false_km_per_scene": 0.5, "miss_rate": 0.5,
                                    "score_ratio_to_classical": 1.5,
                                    "false_ratio_to_classical": None}  # classical drew no false coast: no ratio


def test_overall_figures_and_without_classical():
    overall = method_figures(ROWS, [CLASSICAL, OTHER])
    assert overall[OTHER]["score_ratio_to_classical"] == pytest.approx(25.0 / (70.0 / 3))
    assert overall[OTHER]["false_ratio_to_classical"] == pytest.approx((3500.0 / 3) / 2000.0)
    assert "score_ratio_to_classical" not in overall[CLASSICAL]
    alone = method_figures(ROWS, [OTHER])
    assert alone[OTHER]["score_ratio_to_classical"] is None
    assert alone[OTHER]["false_ratio_to_classical"] is None
