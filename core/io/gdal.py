"""GDAL, imported at the edges only: the engine also runs on arrays where GDAL is absent."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ..errors import InputError


def gdal_module():
    """GDAL, imported at the edges only: the engine also runs on arrays where GDAL is absent."""
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


GDAL_TYPE_NAMES = {"uint8": "Byte", "uint16": "UInt16"}


@contextmanager
def open_dataset(path: str):
    gdal = gdal_module()
    try:
        dataset = gdal.Open(path, gdal.GA_ReadOnly)
    except RuntimeError as error:
        what = "the warped view of the image" if path.lstrip().startswith("<") else f"'{path}'"
        raise InputError(f"Cannot open {what} as a raster: {error}. Give a GDAL-readable SAR image.") from None
    try:
        yield dataset
    finally:
        dataset = None  # closes the file now rather than at garbage collection


@contextmanager
def closing_errors():
    """The errors GDAL raises while a dataset is closed (its last reference dropped) in this block, collected into
    the list it yields: raised from the destructor, Python could otherwise only print them."""
    errors = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: errors.append(unraisable.exc_value)
    try:
        yield errors
    finally:
        sys.unraisablehook = hook
