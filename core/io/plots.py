"""Figures without a display, PNG bytes, and files that appear only when complete."""

from __future__ import annotations

import io
import os
from pathlib import Path


def new_figure(width_in: float, height_in: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100)


def atomic_write(path: Path, data: bytes) -> Path:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
