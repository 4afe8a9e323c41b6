"""Figures without a display, PNG bytes, and files that appear only when complete."""

from __future__ import annotations

import io
from pathlib import Path

from .writing import write_bytes


def new_figure(width_in: float, height_in: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100)


def atomic_write(path: Path, data: bytes, what: str = "") -> Path:
    """The file whole or not at all; a failed write raises OutputError saying why (see io/writing.py)."""
    return write_bytes(path, data, what)


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
