"""Scene readers behind one interface: `open_scene(source, options)` asks each registered reader in turn.

A reader turns what the user gives (a file path, an in-memory array, a Sentinel-1 .SAFE product, an ALOS-2
PALSAR-2 image; rasters off a projected grid through a warped view) into a `Scene`: a projected grid read in
windows, with the sensor's calibration, so that everything after it sees sigma0 in dB. See docs/extending.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..errors import InputError
from .products import Alos2Reader, Sentinel1Reader, is_sentinel1_measurement
from .raster_reader import open_scene as open_gdal_scene
from .scene import CF_DB, Scene, array_scene


@dataclass(frozen=True)
class ReadOptions:
    band: int | None = None  # required for multi-band rasters
    calibration_db: float | None = None  # amplitude DN calibration factor; None: the reader's (sensor's) own
    geotransform: tuple[float, ...] | None = None  # arrays only: their georeferencing
    crs_wkt: str = ""  # arrays only
    scale: str | None = None  # a core.scale SCALE choice; None or 'auto': detected
    output_crs: str = ""  # the grid's CRS (WKT, 'EPSG:n'); empty: the raster's own, or the local UTM zone
    polarisation: str | None = None  # products with several (Sentinel-1 SAFE): 'VV', 'VH', ...; None: the clearer


class Reader(Protocol):
    name: str

    def accepts(self, source) -> bool:
        """Whether this reader reads `source` (cheap: no full open)."""

    def open(self, source, options: ReadOptions) -> Scene:
        """The checked Scene; raise InputError naming what to fix."""


class ArrayReader:
    """In-memory amplitude DN (0 = no data): tests, benchmarks, and callers without GDAL."""

    name = "array"

    def accepts(self, source) -> bool:
        return isinstance(source, np.ndarray)

    def open(self, source: np.ndarray, options: ReadOptions) -> Scene:
        if source.ndim != 2:
            raise InputError(f"An array scene must be 2-D (rows, cols); got shape {source.shape}.")
        if options.geotransform is None:
            raise InputError("An array scene needs its geotransform (ReadOptions.geotransform).")
        scene = array_scene(source, options.geotransform, options.crs_wkt)
        if options.calibration_db is not None:
            scene = replace(scene, calibration_db=options.calibration_db)
        return scene


class GdalReader:
    """Any single- or multi-band raster GDAL opens, on a projected grid; PALSAR-2's calibration by default."""

    name = "gdal"
    calibration_db = CF_DB

    def accepts(self, source) -> bool:
        return isinstance(source, str | os.PathLike)

    def open(self, source, options: ReadOptions) -> Scene:
        calibration = self.calibration_db if options.calibration_db is None else options.calibration_db
        scene = open_gdal_scene(source, options.band, calibration, options.scale, options.output_crs)
        if is_sentinel1_measurement(source) and options.calibration_db is None:
            scene = replace(scene, warnings=scene.warnings + (
                f"'{scene.name}' is a Sentinel-1 measurement without its product around it: read with CF "
                f"{calibration:g} dB, not Sentinel-1's calibration table. Give the .SAFE folder, its zip or its "
                "manifest.safe for sigma0 (models expect calibrated dB).",))
        return scene


_READERS: list[Reader] = [ArrayReader(), Sentinel1Reader(), Alos2Reader(), GdalReader()]


def register_reader(reader: Reader) -> None:
    """Ask `reader` before the others: specific formats (a sensor's product) go before the general GDAL one."""
    if any(existing.name == reader.name for existing in _READERS):
        raise ValueError(f"A reader named '{reader.name}' is already registered.")
    _READERS.insert(0, reader)


def unregister_reader(name: str) -> None:
    _READERS[:] = [reader for reader in _READERS if reader.name != name]


def readers() -> tuple[Reader, ...]:
    return tuple(_READERS)


def open_scene(source, options: ReadOptions | None = None) -> Scene:
    """The Scene of `source` from the first reader that accepts it."""
    options = options or ReadOptions()
    if isinstance(source, Scene):
        return source
    for reader in _READERS:
        if reader.accepts(source):
            return reader.open(source, options)
    raise InputError(f"No reader takes {type(source).__name__} '{source}'. Give a raster file path.")
