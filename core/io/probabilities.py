"""The fused probability maps written as a GeoTIFF, strip by strip."""

from __future__ import annotations

import os

import numpy as np

from .gdal import closing_errors, gdal_module
from .scene import Scene
from .writing import output_error, partial_path, remove_quietly

WHAT = "the probabilities"


class ProbabilityWriter:
    """Writes the fused maps as a float32 GeoTIFF strip by strip; the file appears only when complete, and a
    failed write leaves none (and the file it would have replaced as it was). Compressed: its size is not known
    before, so the disk's space is not checked ahead."""

    def __init__(self, path: str, scene: Scene, stride: int, bands: dict[str, int]):
        gdal = gdal_module()
        self.path = path
        self.temporary = str(partial_path(os.path.abspath(path)))
        self.channels = list(bands.values())
        self.dataset = None
        width, height = -(-scene.width // stride), -(-scene.height // stride)
        try:
            self.dataset = gdal.GetDriverByName("GTiff").Create(
                self.temporary, width, height, len(bands), gdal.GDT_Float32,
                options=["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER"])
        except RuntimeError as error:
            self.discard()
            raise output_error(path, error, WHAT) from None
        gt = scene.geotransform
        self.dataset.SetGeoTransform((gt[0], gt[1] * stride, gt[2] * stride, gt[3], gt[4] * stride, gt[5] * stride))
        self.dataset.SetProjection(scene.crs_wkt)
        for index, name in enumerate(bands, start=1):
            band = self.dataset.GetRasterBand(index)
            band.SetDescription(name)
            band.SetNoDataValue(float("nan"))

    def write(self, first_row: int, strip: np.ndarray) -> None:
        failure = None
        try:
            for index, channel in enumerate(self.channels, start=1):
                self.dataset.GetRasterBand(index).WriteArray(strip[channel], 0, first_row)
        except RuntimeError as error:
            failure = str(error)  # not the error itself: its traceback holds a band, which holds the file open
        if failure is not None:  # the caller discards the file
            raise output_error(self.path, failure, WHAT)

    def close(self) -> None:
        failure = None
        try:
            self.dataset.FlushCache()
        except RuntimeError as error:
            failure = str(error)
        if failure is None:
            with closing_errors() as errors:  # closing writes the TIFF's directory, which can fail too
                self.dataset = None
            failure = str(errors[0]) if errors else None
        if failure is None:
            try:
                os.replace(self.temporary, self.path)
            except OSError as error:
                failure = error
        if failure is not None:
            self.discard()
            raise output_error(self.path, failure, WHAT)

    def discard(self) -> None:
        with closing_errors():  # a failed file fails to close too: nothing new to say
            self.dataset = None
        remove_quietly(self.temporary)
