"""The fused probability maps written as a GeoTIFF, strip by strip."""

from __future__ import annotations

import os

import numpy as np

from ..errors import OutputError
from .gdal import gdal_module
from .scene import Scene


class ProbabilityWriter:
    """Writes the fused maps as a float32 GeoTIFF strip by strip; the file appears only when complete."""

    def __init__(self, path: str, scene: Scene, stride: int, bands: dict[str, int]):
        gdal = gdal_module()
        self.path = path
        self.temporary = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.partial")
        self.channels = list(bands.values())
        width, height = -(-scene.width // stride), -(-scene.height // stride)
        try:
            self.dataset = gdal.GetDriverByName("GTiff").Create(
                self.temporary, width, height, len(bands), gdal.GDT_Float32,
                options=["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER"])
        except RuntimeError as error:
            raise OutputError(f"Cannot write the probabilities '{path}': {error}. Choose another location.") from None
        gt = scene.geotransform
        self.dataset.SetGeoTransform((gt[0], gt[1] * stride, gt[2] * stride, gt[3], gt[4] * stride, gt[5] * stride))
        self.dataset.SetProjection(scene.crs_wkt)
        for index, name in enumerate(bands, start=1):
            band = self.dataset.GetRasterBand(index)
            band.SetDescription(name)
            band.SetNoDataValue(float("nan"))

    def write(self, first_row: int, strip: np.ndarray) -> None:
        try:
            for index, channel in enumerate(self.channels, start=1):
                self.dataset.GetRasterBand(index).WriteArray(strip[channel], 0, first_row)
        except RuntimeError as error:
            raise OutputError(f"Writing the probabilities '{self.path}' failed: {error} (is the disk full?).") from None

    def close(self) -> None:
        try:
            self.dataset.FlushCache()
            self.dataset = None
            os.replace(self.temporary, self.path)
        except (RuntimeError, OSError) as error:
            self.discard()
            raise OutputError(f"Writing the probabilities '{self.path}' failed: {error}.") from None

    def discard(self) -> None:
        self.dataset = None
        if os.path.exists(self.temporary):
            os.remove(self.temporary)
