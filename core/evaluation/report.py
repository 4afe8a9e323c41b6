"""Pictures and reports: the quicklook of a scene with its lines, and the evaluation report."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import numpy as np

from ..io.plots import atomic_write, new_figure, png_bytes
from .metric import Score


def _stretch(image: np.ndarray) -> np.ndarray:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return image
    low, high = np.percentile(finite, [2, 98])
    return np.clip((image - low) / max(high - low, 1e-9), 0.0, 1.0)


def write_quicklook(path: str | os.PathLike, image: np.ndarray, geotransform: tuple, lines: list[np.ndarray],
                    reference: list[np.ndarray] | None = None, title: str = "", max_side: int = 1600) -> Path:
    """PNG of a scene (stretched 2nd-98th percentile, no-data in dark blue) with lines drawn over it."""
    step = max(1, int(np.ceil(max(image.shape) / max_side)))
    shown = _stretch(image[::step, ::step].astype(np.float32))
    height, width = image.shape
    left, top = geotransform[0], geotransform[3]
    extent = (left, left + width * geotransform[1], top + height * geotransform[5], top)
    aspect = shown.shape[0] / shown.shape[1]
    figure = new_figure(9, max(3.0, 9 * aspect))
    axes = figure.add_subplot(1, 1, 1)
    axes.set_facecolor("#102040")
    axes.imshow(np.ma.masked_invalid(shown), cmap="gray", extent=extent, interpolation="nearest")
    for index, line in enumerate(reference or []):
        axes.plot(line[:, 0], line[:, 1], color="cyan", linewidth=1.0, label="reference" if index == 0 else None)
    for index, line in enumerate(lines):
        axes.plot(line[:, 0], line[:, 1], color="#ff3030", linewidth=1.2, label="extracted" if index == 0 else None)
    if lines or reference:
        axes.legend(loc="upper right", fontsize=8)
    axes.set_title(title)
    axes.set_xlabel("x (m)")
    axes.set_ylabel("y (m)")
    axes.ticklabel_format(useOffset=False, style="plain")
    figure.tight_layout()
    return atomic_write(Path(path), png_bytes(figure), "the quicklook")


def _report_figure(score: Score, points: np.ndarray, distances: np.ndarray, predicted: list[np.ndarray],
                   reference: list[np.ndarray], title: str):
    figure = new_figure(13, 6)
    axes = figure.add_subplot(1, 2, 1)
    for index, line in enumerate(reference):
        axes.plot(line[:, 0], line[:, 1], color="0.4", linewidth=1.0, label="reference" if index == 0 else None)
    for index, line in enumerate(predicted):
        axes.plot(line[:, 0], line[:, 1], color="#d03030", linewidth=1.0, label="predicted" if index == 0 else None)
    capped = np.minimum(distances, score.cap)
    dots = axes.scatter(points[:, 0], points[:, 1], c=capped, s=8, cmap="viridis", vmin=0, vmax=score.cap, zorder=3)
    figure.colorbar(dots, ax=axes, label="distance to prediction, capped (m)")
    axes.set_aspect("equal")
    axes.legend(loc="upper right", fontsize=8)
    axes.set_title(title or "Coastline evaluation")
    axes.ticklabel_format(useOffset=False, style="plain")
    histogram = figure.add_subplot(1, 2, 2)
    histogram.hist(capped, bins=30, range=(0, score.cap), color="#3070b0")
    histogram.set_xlabel("distance, capped (m)")
    histogram.set_ylabel("evaluation points")
    text = "\n".join(f"{label}: {value}" for label, value in _figures(score))
    histogram.text(0.97, 0.97, text, transform=histogram.transAxes, ha="right", va="top", fontsize=9,
                   bbox={"facecolor": "white", "alpha": 0.85})
    figure.tight_layout()
    return figure


def _figures(score: Score) -> list[tuple[str, str]]:
    return [("Score (mean capped distance)", f"{score.score:.2f} m"), ("Median", f"{score.median:.2f} m"),
            ("90th percentile", f"{score.p90:.2f} m"), ("Miss rate", f"{score.miss_rate:.1%}"),
            ("False coast", f"{score.false_coast_m:.0f} m"), ("Symmetric mean distance", f"{score.symmetric_m:.2f} m"),
            ("Evaluation points", f"{score.n_points}"), ("Cap", f"{score.cap:g} m")]


def write_evaluation_report(path: str | os.PathLike, score: Score, points: np.ndarray, distances: np.ndarray,
                            predicted: list[np.ndarray], reference: list[np.ndarray], title: str = "") -> Path:
    """A .png figure (map of distances, histogram, figures) or a self-contained .html page with it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise ValueError(f"Report '{path.name}': the supported suffixes are .png, .html and .htm.")
    picture = png_bytes(_report_figure(score, points, distances, predicted, reference, title))
    if suffix == ".png":
        return atomic_write(path, picture, "the report")
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                   for label, value in _figures(score))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title or 'Coastline evaluation')}"
            f"</title><style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:2em}}"
            f"</style></head><body><h1>{html.escape(title or 'Coastline evaluation')}</h1><table>{rows}</table>"
            f"<p><img alt='evaluation map and histogram' style='max-width:100%' "
            f"src='data:image/png;base64,{base64.b64encode(picture).decode()}'></p></body></html>")
    return atomic_write(path, page.encode(), "the report")
