"""extract(): the one call the Extract coastline algorithm makes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from skimage.measure import find_contours

from . import classical
from .errors import Cancelled, InputError
from .raster import Scene, check_has_data, open_scene
from .vector import Coastline, border_and_nodata_exclusion, contours_to_lines

METHODS = ("classical",)


@dataclass(frozen=True)
class ExtractConfig:
    method: str = "classical"
    band: int | None = None
    min_length_m: float = 60.0
    nodata_margin_px: int = 2
    classical: classical.ClassicalParams = field(default_factory=classical.ClassicalParams)


@dataclass
class ExtractResult:
    scene: Scene
    lines: list[Coastline]
    seconds: float
    notes: list[str]


class _Run:
    """Progress, cancel and log callables in one place, so core never sees QGIS."""

    def __init__(self, progress, cancel, log):
        self.progress = progress or (lambda percent: None)
        self.cancelled = cancel or (lambda: False)
        self.log = log or (lambda message: None)

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled()


def extract(path: str, config: ExtractConfig, progress: Callable[[float], None] | None = None,
            cancel: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None) -> ExtractResult:
    """Coastline lines of a SAR raster, in the raster's CRS. Raises InputError or Cancelled; writes nothing."""
    if config.method not in METHODS:
        raise InputError(f"Unknown method '{config.method}'. Choose one of: {', '.join(METHODS)}.")
    run = _Run(progress, cancel, log)
    started = time.perf_counter()
    scene = open_scene(path, config.band)
    notes = [f"{scene.name}: {scene.width} x {scene.height} px, {scene.pixel_size:g} m pixels; "
             f"{scene.describe_interpretation()}."]
    run.log(notes[0])
    valid_share = check_has_data(scene)
    run.progress(5)

    db = np.empty((scene.height, scene.width), np.float32)
    for row, strip in scene.iter_strips():
        db[row:row + len(strip)] = strip
        run.check_cancel()
    run.progress(20)

    land, threshold = classical.land_field(db, scene.pixel_size, config.classical, run.check_cancel)
    del db
    notes.append(f"Otsu threshold {threshold:.1f} dB on {valid_share:.0%} valid pixels.")
    run.log(notes[-1])
    run.progress(60)

    valid = np.isfinite(land)
    contours = find_contours(np.where(valid, land, 0.0), 0.0)
    run.check_cancel()
    run.progress(85)
    excluded = border_and_nodata_exclusion(valid, config.nodata_margin_px)
    coords = contours_to_lines(contours, scene.geotransform, excluded, config.min_length_m)
    run.check_cancel()

    attributes = {"scene": scene.name, "date": scene.acquisition_date, "method": config.method}
    lines = [Coastline(line, dict(attributes)) for line in coords]
    for line in lines:
        line.attributes["length_m"] = round(line.length_m, 2)
    run.progress(100)
    seconds = time.perf_counter() - started
    notes.append(f"{len(lines)} line(s), {sum(line.length_m for line in lines) / 1000:.2f} km in {seconds:.1f} s.")
    run.log(notes[-1])
    return ExtractResult(scene=scene, lines=lines, seconds=seconds, notes=notes)
