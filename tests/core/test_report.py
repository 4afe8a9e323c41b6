import numpy as np
import pytest

from sar_coastline.core.evaluation.metric import evaluate
from sar_coastline.core.evaluation.report import write_evaluation_report, write_quicklook

PNG = b"\x89PNG\r\n\x1a\n"


def test_quicklook_is_a_png_and_leaves_no_temporary_file(tmp_path):
    image = np.random.default_rng(0).random((400, 300)).astype(np.float32)
    image[:50] = np.nan
    path = write_quicklook(tmp_path / "q.png", image, (1000.0, 3.0, 0.0, 5000.0, 0.0, -3.0),
                           [np.array([[1100.0, 4500.0], [1500.0, 4000.0]])], title="scene", max_side=100)
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 1000
    assert [item.name for item in tmp_path.iterdir()] == ["q.png"]


def test_reports_in_png_and_html(tmp_path):
    reference = [np.array([[0.0, 0.0], [900.0, 0.0]])]
    predicted = [np.array([[0.0, 12.0], [900.0, 12.0]])]
    score, distances = evaluate(predicted, reference)
    points = np.column_stack([np.arange(0, 900, 30.0), np.zeros(30)])
    png = write_evaluation_report(tmp_path / "r.png", score, points, distances, predicted, reference)
    assert png.read_bytes()[:8] == PNG
    page = write_evaluation_report(tmp_path / "r.html", score, points, distances, predicted, reference).read_text()
    assert "12.00 m" in page and "data:image/png;base64," in page
    with pytest.raises(ValueError, match="supported suffixes"):
        write_evaluation_report(tmp_path / "r.pdf", score, points, distances, predicted, reference)
