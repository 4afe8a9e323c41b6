"""Small rasters made on the fly for tests (importable as `testdata`: tests/ is on the pytest path)."""

from pathlib import Path

import numpy as np
import torch
from osgeo import gdal, osr

from sar_coastline.models.modelfile import LoadedModel, ModelMeta

gdal.UseExceptions()


def write_raster(path: Path, array: np.ndarray, epsg: int | None = 32633, nodata: float | None = 0,
                 pixel_size: float = 3.0) -> Path:
    """A GeoTIFF of `array` ((bands,) rows, cols) with an optional CRS."""
    bands = array[None] if array.ndim == 2 else array
    data_type = gdal.GDT_Float32 if array.dtype.kind == "f" else gdal.GDT_UInt16
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], bands.shape[0],
                                                   data_type)
    origin = (500_000.0, 6_000_000.0) if epsg != 4326 else (14.0, 55.0)
    step = pixel_size if epsg != 4326 else 3e-5
    dataset.SetGeoTransform((origin[0], step, 0.0, origin[1], 0.0, -step))
    if epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        dataset.SetProjection(srs.ExportToWkt())
    for index, band in enumerate(bands, start=1):
        dataset.GetRasterBand(index).WriteArray(band)
        if nodata is not None:
            dataset.GetRasterBand(index).SetNoDataValue(nodata)
    dataset = None
    return path


def two_halves_dn(rows: int = 256, cols: int = 256, coast_col: int = 128, seed: int = 0) -> np.ndarray:
    """Speckled uint16 DN: dark sea (-20 dB) left of `coast_col`, bright land (-6 dB) right of it."""
    rng = np.random.default_rng(seed)
    sigma0_db = np.where(np.arange(cols)[None, :] < coast_col, -20.0, -6.0) * np.ones((rows, 1))
    intensity = 10 ** ((sigma0_db + 83.0) / 10.0) * rng.gamma(2.0, 0.5, (rows, cols))
    return np.clip(np.sqrt(intensity), 1, 65535).astype(np.uint16)


SOFTMAX_META = ModelMeta(architecture="Unet", encoder="resnet18", head="softmax", classes=("sea", "nodata", "land"),
                         input_transform="log", model_side=64, crop_range=(128, 192))
SIGMOID_META = ModelMeta(architecture="Unet", encoder="resnet18", head="sigmoid", classes=("coast",),
                         input_transform="linear", model_side=64, crop_range=(128, 192))


class ThresholdNet(torch.nn.Module):
    """Softmax logits of sea / no-data / land from the input brightness: a stand-in with a known answer."""

    def __init__(self, fail_above: int | None = None):
        super().__init__()
        self.fail_above = fail_above
        self.calls = []

    def forward(self, x):
        self.calls.append(x.shape[0])
        if self.fail_above is not None and x.shape[0] > self.fail_above:
            raise torch.cuda.OutOfMemoryError("simulated")
        land = 40.0 * (x - 0.5)  # -13 dB on the log window [-30, 5] dB
        nodata = torch.where(x == 0, 50.0, -50.0)
        return torch.cat([-land, nodata, land], 1)


def loaded(network, meta=SOFTMAX_META):
    return LoadedModel(Path("threshold.safetensors"), meta, network)
