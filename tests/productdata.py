"""One generated scene in the forms real products come in: projected, EPSG:4326, GCP-only, a Sentinel-1 SAFE.

Importable as `productdata` (tests/ is on the pytest path). The SAFE holds what GDAL's own SAFE driver reads:
manifest.safe, product annotation (image size, GCP grid, times), calibration LUT and the measurement TIFF.
"""

import zipfile
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from sar_coastline.synthetic.scenes import generate_scene

gdal.UseExceptions()

# sigma0 = DN^2 / A^2 with A^2 = 10^8.3 is PALSAR-2's DN calibration (CF -83 dB): every form reads the same dB.
SIGMA_LUT = 10 ** 4.15
START, STOP = "2021-03-04T05:06:07.000000", "2021-03-04T05:06:10.000000"


def scene(size: int = 400, seed: int = 5, pixel_size: float = 10.0):
    return generate_scene(size, size, seed=seed, style="rocky", pixel_size=pixel_size)


def _utm_to_lonlat(crs_wkt: str):
    source = osr.SpatialReference(wkt=crs_wkt)
    target = osr.SpatialReference()
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(source, target), target


def write_projected(path: Path, synthetic) -> Path:
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), synthetic.dn.shape[1], synthetic.dn.shape[0], 1,
                                                   gdal.GDT_UInt16)
    dataset.SetGeoTransform(synthetic.geotransform)
    dataset.SetProjection(synthetic.crs_wkt)
    dataset.GetRasterBand(1).SetNoDataValue(0)
    dataset.GetRasterBand(1).WriteArray(synthetic.dn)
    dataset = None
    return path


def write_geographic(path: Path, projected: Path) -> Path:
    """The projected raster warped to EPSG:4326 (as SNAP and Earth Engine export it)."""
    gdal.Warp(str(path), str(projected), dstSRS="EPSG:4326", resampleAlg="near", srcNodata=0, dstNodata=0)
    return path


def gcp_grid(synthetic, step: int = 50) -> list[gdal.GCP]:
    """Lat/lon GCPs on a grid of pixel positions (as Sentinel-1's geolocation grid)."""
    transform, _ = _utm_to_lonlat(synthetic.crs_wkt)
    gt = synthetic.geotransform
    height, width = synthetic.dn.shape
    gcps = []
    for line in [*range(0, height, step), height]:
        for pixel in [*range(0, width, step), width]:
            x, y = gt[0] + pixel * gt[1], gt[3] + line * gt[5]
            lon, lat, _ = transform.TransformPoint(x, y)
            gcps.append(gdal.GCP(lon, lat, 0.0, float(pixel), float(line)))
    return gcps


def write_gcp_only(path: Path, synthetic) -> Path:
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), synthetic.dn.shape[1], synthetic.dn.shape[0], 1,
                                                   gdal.GDT_UInt16)
    _, wgs84 = _utm_to_lonlat(synthetic.crs_wkt)
    dataset.SetGCPs(gcp_grid(synthetic), wgs84.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(synthetic.dn)
    dataset = None
    return path


MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0"
    xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1"
    version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/standard/iwgrdh">
  <informationPackageMap>
    <xfdu:contentUnit unitType="SAFE Archive Information Package" textInfo="Sentinel-1 IW Level-1 GRD Product">
{units}
    </xfdu:contentUnit>
  </informationPackageMap>
  <metadataSection>
    <metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Acquisition Period">
        <xmlData><safe:acquisitionPeriod><safe:startTime>{start}</safe:startTime>
          <safe:stopTime>{stop}</safe:stopTime></safe:acquisitionPeriod></xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="platform" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Platform Description">
        <xmlData><safe:platform><safe:familyName>SENTINEL-1</safe:familyName><safe:number>A</safe:number>
          </safe:platform></xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="processing" classification="PROVENANCE" category="PDI">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Processing">
        <xmlData><safe:processing name="generated"><safe:facility name="tests"/></safe:processing></xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Orbit Reference">
        <xmlData><safe:orbitReference><safe:orbitNumber type="start">36000</safe:orbitNumber></safe:orbitReference>
        </xmlData>
      </metadataWrap>
    </metadataObject>
{metadata}
  </metadataSection>
  <dataObjectSection>
{objects}
  </dataObjectSection>
</xfdu:XFDU>
"""

UNIT = """      <xfdu:contentUnit unitType="Measurement Data Unit" repID="s1Level1MeasurementSchema"
          dmdID="s1Level1ProductSchema_{p} s1Level1CalibrationSchema_{p}">
        <dataObjectPointer dataObjectID="measurement_{p}"/>
      </xfdu:contentUnit>"""

METADATA = """    <metadataObject ID="s1Level1ProductSchema_{p}" classification="DESCRIPTION" category="DMD">
      <dataObjectPointer dataObjectID="product_{p}"/></metadataObject>
    <metadataObject ID="s1Level1CalibrationSchema_{p}" classification="DESCRIPTION" category="DMD">
      <dataObjectPointer dataObjectID="calibration_{p}"/></metadataObject>"""

OBJECTS = """    <dataObject ID="measurement_{p}" repID="s1Level1MeasurementSchema">
      <byteStream mimeType="application/octet-stream"><fileLocation locatorType="URL" href="./measurement/{stem}.tiff"/>
      </byteStream></dataObject>
    <dataObject ID="product_{p}" repID="s1Level1ProductSchema">
      <byteStream mimeType="text/xml"><fileLocation locatorType="URL" href="./annotation/{stem}.xml"/></byteStream>
    </dataObject>
    <dataObject ID="calibration_{p}" repID="s1Level1CalibrationSchema">
      <byteStream mimeType="text/xml">
        <fileLocation locatorType="URL" href="./annotation/calibration/calibration-{stem}.xml"/>
      </byteStream></dataObject>"""

HEADER = """<adsHeader><missionId>S1A</missionId><productType>GRD</productType><polarisation>{pol}</polarisation>
<mode>IW</mode><swath>IW</swath><startTime>{start}</startTime><stopTime>{stop}</stopTime><absoluteOrbitNumber>1
</absoluteOrbitNumber><missionDataTakeId>1</missionDataTakeId><imageNumber>001</imageNumber></adsHeader>"""


def write_safe(folder: Path, synthetic, polarisations: dict[str, np.ndarray] | None = None,
               lut: tuple[float, float] = (SIGMA_LUT, SIGMA_LUT)) -> Path:
    """A Sentinel-1 IW GRD .SAFE folder around the scene's DN (one measurement per polarisation); the sigmaNought LUT
    goes linearly from lut[0] at the first column to lut[1] at the last, the same on every line."""
    polarisations = polarisations or {"VV": synthetic.dn}
    safe = folder / "S1A_IW_GRDH_1SDV_20210304T050607_20210304T050610_036000_043000_ABCD.SAFE"
    for sub in ("measurement", "annotation/calibration"):
        (safe / sub).mkdir(parents=True, exist_ok=True)
    height, width = synthetic.dn.shape
    grid = "".join(f"<geolocationGridPoint><azimuthTime>{START}</azimuthTime><slantRangeTime>0.005</slantRangeTime>"
                   f"<line>{int(g.GCPLine)}</line><pixel>{int(g.GCPPixel)}</pixel><latitude>{g.GCPY!r}</latitude>"
                   f"<longitude>{g.GCPX!r}</longitude><height>0</height><incidenceAngle>35</incidenceAngle>"
                   "<elevationAngle>30</elevationAngle></geolocationGridPoint>" for g in gcp_grid(synthetic))
    units, metadata, objects = [], [], []
    for pol, dn in polarisations.items():
        p = pol.lower()
        stem = f"s1a-iw-grd-{p}-20210304t050607-20210304t050610-036000-043000-001"
        units.append(UNIT.format(p=p))
        metadata.append(METADATA.format(p=p))
        objects.append(OBJECTS.format(p=p, stem=stem))
        header = HEADER.format(pol=pol, start=START, stop=STOP)
        (safe / "annotation" / f"{stem}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<product>{header}<imageAnnotation><imageInformation>'
            f"<productFirstLineUtcTime>{START}</productFirstLineUtcTime><productLastLineUtcTime>{STOP}"
            f"</productLastLineUtcTime><rangePixelSpacing>10</rangePixelSpacing><azimuthPixelSpacing>10"
            f"</azimuthPixelSpacing><numberOfSamples>{width}</numberOfSamples><numberOfLines>{height}</numberOfLines>"
            "<outputPixels>16 bit Unsigned Integer</outputPixels></imageInformation><processingInformation>"
            "<ellipsoidName>WGS84</ellipsoidName><ellipsoidSemiMajorAxis>6378137</ellipsoidSemiMajorAxis>"
            "<ellipsoidSemiMinorAxis>6356752.314245179</ellipsoidSemiMinorAxis></processingInformation>"
            f"</imageAnnotation><geolocationGrid><geolocationGridPointList>{grid}</geolocationGridPointList>"
            "</geolocationGrid></product>\n")
        pixels = " ".join(str(value) for value in (0, width // 2, width - 1))
        lut_text = " ".join(f"{value:.6e}" for value in (lut[0], (lut[0] + lut[1]) / 2, lut[1]))
        vectors = "".join(f"<calibrationVector><azimuthTime>{time}</azimuthTime><line>{line}</line>"
                          f'<pixel count="3">{pixels}</pixel><sigmaNought count="3">{lut_text}</sigmaNought>'
                          f'<betaNought count="3">{lut_text}</betaNought><gamma count="3">{lut_text}</gamma>'
                          f'<dn count="3">{lut_text}</dn></calibrationVector>'
                          for time, line in ((START, 0), (STOP, height - 1)))
        (safe / "annotation" / "calibration" / f"calibration-{stem}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<calibration>{header}<calibrationInformation>'
            "<absoluteCalibrationConstant>1</absoluteCalibrationConstant></calibrationInformation>"
            f'<calibrationVectorList count="2">{vectors}</calibrationVectorList></calibration>\n')
        tiff = gdal.GetDriverByName("GTiff").Create(str(safe / "measurement" / f"{stem}.tiff"), width, height, 1,
                                                    gdal.GDT_UInt16)
        tiff.SetGCPs(gcp_grid(synthetic), _utm_to_lonlat(synthetic.crs_wkt)[1].ExportToWkt())  # as ESA's TIFFs
        tiff.GetRasterBand(1).WriteArray(dn)
        tiff = None
    (safe / "manifest.safe").write_text(MANIFEST.format(units="\n".join(units), metadata="\n".join(metadata),
                                                        objects="\n".join(objects), start=START, stop=STOP))
    return safe


def zip_safe(safe: Path) -> Path:
    """The .SAFE folder zipped as ESA distributes it (the folder inside the zip)."""
    archive = safe.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(safe.rglob("*")):
            zipped.write(path, path.relative_to(safe.parent))
    return archive
