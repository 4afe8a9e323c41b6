"""Readers of sensor products: Sentinel-1 GRD (.SAFE folder, its zip, manifest.safe) and ALOS-2 PALSAR-2 images.

Each knows its sensor's calibration, polarisations and acquisition date, and hands a Scene in sigma0 dB on a
projected grid (through core.io.raster_reader.open_scene, which warps GCP-placed products). Registered in
core.io.readers.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import replace

import numpy as np

from ..errors import InputError
from .gdal import gdal_module
from .raster_reader import dual_pol_band
from .raster_reader import open_scene as open_gdal_scene
from .scale import DN_AMPLITUDE
from .scene import CF_DB, Scene

_MEASUREMENT = re.compile(r"^s1[a-d]-[a-z0-9]+-grd-(?P<pol>[hv]{2})-.*\.tiff?$", re.IGNORECASE)
_CALIB = re.compile(r"^SENTINEL1_CALIB:[A-Z0-9]+:(?P<manifest>.+):(?P<swath>[A-Z0-9]+)_(?P<pol>[HV]{2})(:[A-Z]+)?$",
                    re.IGNORECASE)


def _text(path: str) -> str:
    """A file's text through GDAL's virtual file systems (/vsizip/ included)."""
    gdal = gdal_module()
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        raise InputError(f"Cannot read '{path}'.")
    try:
        gdal.VSIFSeekL(handle, 0, 2)
        size = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        return gdal.VSIFReadL(1, size, handle).decode("utf-8", "replace")
    finally:
        gdal.VSIFCloseL(handle)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class CalibrationTable:
    """Sentinel-1's sigmaNought LUT: sigma0 = DN^2 / A^2, A interpolated bilinearly between the vectors."""

    def __init__(self, xml_text: str):
        root = ElementTree.fromstring(xml_text)
        lines, pixels, values = [], [], []
        for vector in root.iter():
            if _local(vector.tag) != "calibrationVector":
                continue
            fields = {_local(child.tag): child.text or "" for child in vector}
            lines.append(float(fields["line"]))
            pixels.append(np.array(fields["pixel"].split(), float))
            values.append(np.array(fields["sigmaNought"].split(), float))
        if len(lines) < 1 or any(len(p) != len(v) or len(p) < 2 for p, v in zip(pixels, values)):
            raise InputError("The Sentinel-1 calibration file has no usable sigmaNought vectors; check the product.")
        order = np.argsort(lines)
        self.lines = np.array(lines)[order]
        self.pixels = [pixels[i] for i in order]
        self.values = [values[i] for i in order]

    def offset_db(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """-20 log10(A) at (column, row) positions: added to 20 log10(DN), it gives sigma0 in dB."""
        cols, rows = np.asarray(cols, float), np.asarray(rows, float)
        per_vector = np.stack([np.interp(cols.ravel(), p, v) for p, v in zip(self.pixels, self.values)])
        if len(self.lines) == 1:
            lut = per_vector[0]
        else:
            low = np.clip(np.searchsorted(self.lines, rows.ravel(), side="right") - 1, 0, len(self.lines) - 2)
            span = self.lines[low + 1] - self.lines[low]
            share = np.clip((rows.ravel() - self.lines[low]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
            index = np.arange(cols.size)
            lut = per_vector[low, index] * (1 - share) + per_vector[low + 1, index] * share
        with np.errstate(divide="ignore", invalid="ignore"):
            return (-20.0 * np.log10(lut)).reshape(cols.shape)


class Sentinel1Reader:
    """Sentinel-1 GRD: a .SAFE folder, its zip, its manifest.safe, or a SENTINEL1_CALIB subdataset name.

    GDAL's SAFE driver gives the measurement (amplitude DN) with its GCP grid; GDAL 3.6 lists no calibrated GRD
    subdataset and refuses SENTINEL1_CALIB:SIGMA0 for GRD, so the sigmaNought LUT of the product's calibration file
    is applied here (the same formula: sigma0 = DN^2 / A^2). Thermal noise is not removed.
    """

    name = "sentinel1"

    def accepts(self, source) -> bool:
        if not isinstance(source, str | os.PathLike):
            return False
        text = os.fspath(source).rstrip("/\\")
        base = os.path.basename(text).lower()
        return (text.upper().startswith("SENTINEL1_CALIB:") or base == "manifest.safe" or base.endswith(".safe")
                or (base.endswith(".zip") and base.startswith("s1")) or _product_of_measurement(text) is not None)

    def open(self, source, options) -> Scene:
        text = os.fspath(source).rstrip("/\\")
        polarisation = options.polarisation
        match = _CALIB.match(text)
        if match:
            text, polarisation = match["manifest"], polarisation or match["pol"].upper()
        elif _product_of_measurement(text):  # a measurement TIFF: its product holds the calibration and the date
            polarisation = polarisation or _MEASUREMENT.match(os.path.basename(text))["pol"].upper()
            text = _product_of_measurement(text)
        manifest = _manifest_path(text)
        product = os.path.basename(os.path.dirname(manifest)).removesuffix(".SAFE").removesuffix(".safe")
        gdal = gdal_module()
        try:
            dataset = gdal.Open(manifest)
            metadata = dataset.GetMetadata() or {}
            subdatasets = dataset.GetMetadata("SUBDATASETS") or {}
            dataset = None
        except RuntimeError as error:
            raise InputError(f"GDAL cannot open the Sentinel-1 product '{product}': {error}. Check that the .SAFE "
                             "folder (or zip) is complete.") from None
        if metadata.get("PRODUCT_TYPE", "").upper() == "SLC":
            raise InputError(f"'{product}' is a Sentinel-1 SLC product (slant range, bursts). Give a GRD product, or "
                             "an SLC calibrated, debursted and terrain-corrected in SNAP (a GeoTIFF).")
        single = {}  # polarisation -> uncalibrated single-band subdataset
        several = None
        for key, value in subdatasets.items():
            if not key.endswith("_NAME") or ":UNCALIB:" not in value.upper():
                continue
            found = re.search(r":[A-Z0-9]+_([HV]{2})(:[A-Z]+)?$", value, re.IGNORECASE)
            if found:
                single[found[1].upper()] = value
            else:
                several = value
        if not single:
            raise InputError(f"'{product}' lists no measurement GDAL can read. Check that its measurement TIFFs are "
                             "present (measurement/*.tiff).")
        pols = list(single)
        band_choice = None
        if polarisation:
            if polarisation.upper() not in single:
                raise InputError(f"'{product}' has no {polarisation} polarisation. It has: {', '.join(pols)}.")
            polarisation = polarisation.upper()
        elif options.band is not None:
            ordered = self._band_order(several) or pols
            if not 1 <= options.band <= len(ordered):
                raise InputError(f"Band {options.band} does not exist: '{product}' has {', '.join(ordered)}.")
            polarisation = ordered[options.band - 1]
        elif len(pols) == 1:
            polarisation = pols[0]
        else:
            polarisation, band_choice = self._clearer(several, pols)
        table = CalibrationTable(_text(_calibration_path(manifest, polarisation)))
        note = (f"Sentinel-1 {metadata.get('PRODUCT_TYPE', 'GRD')} product '{product}', {polarisation} polarisation"
                f"{'' if band_choice else ' (POLARISATION to change)' if len(pols) > 1 else ''}: amplitude DN "
                "calibrated with the product's sigmaNought table (sigma0 = DN^2 / A^2).")
        if options.scale not in (None, "auto", DN_AMPLITUDE) or options.calibration_db is not None:
            note += " SCALE and CALIBRATION_DB do not apply to a SAFE product and are ignored."
        scene = open_gdal_scene(single[polarisation], 1, 0.0, DN_AMPLITUDE, options.output_crs,
                                name=f"{product}_{polarisation}", source_offset_db=table.offset_db, notes=(note,))
        date = metadata.get("ACQUISITION_START_TIME")
        return replace(scene, acquisition_date=date if date and date != "UNK" else scene.acquisition_date,
                       band_choice=band_choice, scale_reason="Sentinel-1 measurement")

    @staticmethod
    def _band_order(several: str | None) -> list[str]:
        if several is None:
            return []
        dataset = gdal_module().Open(several)
        return [(dataset.GetRasterBand(index).GetMetadataItem("POLARIZATION") or "").upper()
                for index in range(1, dataset.RasterCount + 1)]

    def _clearer(self, several: str | None, pols: list[str]) -> tuple[str, str]:
        """The dual-pol rule of core.io.raster_reader on the product's two measurements; its message names
        polarisations."""
        order = self._band_order(several)
        if len(order) != 2:
            return pols[0], f"{pols[0]} taken (POLARISATION to change)"
        dataset = gdal_module().Open(several)
        band, why = dual_pol_band(dataset)
        dataset = None
        why = why.replace("two bands and no BAND given", "two polarisations and no POLARISATION given")
        why = re.sub(r"band (\d) \([^)]*\)", lambda found: order[int(found[1]) - 1], why)
        return order[band - 1], why.replace("set BAND to override", "set POLARISATION to override")


def is_sentinel1_measurement(path) -> bool:
    return isinstance(path, str | os.PathLike) and bool(_MEASUREMENT.match(os.path.basename(os.fspath(path))))


def _product_of_measurement(path: str) -> str | None:
    """The .SAFE folder of a measurement TIFF (SAFE/measurement/s1a-iw-grd-vv-....tiff), when it is there."""
    if not _MEASUREMENT.match(os.path.basename(path)):
        return None
    product = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return product if os.path.isfile(os.path.join(product, "manifest.safe")) else None


def _manifest_path(text: str) -> str:
    """The manifest.safe of a .SAFE folder, its zip, or the manifest itself, as a GDAL path."""
    if text.lower().endswith(".zip"):
        if not os.path.isfile(text):
            raise InputError(f"The Sentinel-1 zip '{text}' does not exist.")
        try:
            with zipfile.ZipFile(text) as archive:
                entries = [entry for entry in archive.namelist() if entry.lower().endswith("manifest.safe")]
        except zipfile.BadZipFile:
            raise InputError(f"'{text}' is not a readable zip file; download it again.") from None
        if not entries:
            raise InputError(f"'{text}' holds no manifest.safe: it is not a Sentinel-1 SAFE product.")
        return f"/vsizip/{os.path.abspath(text)}/{min(entries, key=len)}"
    if os.path.isdir(text):
        manifest = os.path.join(text, "manifest.safe")
        if not os.path.isfile(manifest):
            raise InputError(f"'{text}' has no manifest.safe: give the product's .SAFE folder, its zip or its "
                             "manifest.safe.")
        return os.path.abspath(manifest)
    if text.startswith("/vsi") or os.path.isfile(text):
        return text if text.startswith("/vsi") else os.path.abspath(text)
    raise InputError(f"The Sentinel-1 product '{text}' does not exist.")


def _calibration_path(manifest: str, polarisation: str) -> str:
    """The calibration XML of one polarisation, from the manifest's data objects."""
    root = ElementTree.fromstring(_text(manifest))
    for data_object in root.iter():
        if _local(data_object.tag) != "dataObject" or data_object.get("repID") != "s1Level1CalibrationSchema":
            continue
        for location in data_object.iter():
            href = location.get("href", "") if _local(location.tag) == "fileLocation" else ""
            if f"-{polarisation.lower()}-" in os.path.basename(href).lower():
                return os.path.dirname(manifest) + "/" + href.removeprefix("./")
    raise InputError(f"The product has no calibration file for {polarisation} (annotation/calibration/); check that "
                     "it is complete.")


_ALOS2 = re.compile(r"^IMG-(?P<pol>HH|HV|VH|VV)-ALOS2\d{9}-(?P<date>\d{6})-(?P<mode>[A-Z]{3,4})", re.IGNORECASE)


class Alos2Reader:
    """ALOS-2 PALSAR-2 L1.5 / L2.1 images (IMG-HH-ALOS2...: GeoTIFF, or CEOS where GDAL reads it): amplitude DN with
    JAXA's sigma0 = 10 log10(DN^2) + CF, CF -83.0 dB unless CALIBRATION_DB says otherwise; date from the name."""

    name = "alos2"

    def accepts(self, source) -> bool:
        return isinstance(source, str | os.PathLike) and bool(_ALOS2.match(os.path.basename(os.fspath(source))))

    def open(self, source, options) -> Scene:
        path = os.fspath(source)
        found = _ALOS2.match(os.path.basename(path))
        calibration = CF_DB if options.calibration_db is None else options.calibration_db
        date = _summary_date(os.path.dirname(path)) or "20{}-{}-{}".format(*re.findall("..", found["date"]))
        note = (f"ALOS-2 PALSAR-2 {found['pol'].upper()} image (from its name): sigma0 = 10 log10(DN^2) + CF with "
                f"CF {calibration:g} dB (CALIBRATION_DB to change); acquired {date}.")
        if found["mode"].upper().startswith(("WBD", "WWD")) and options.calibration_db is None:
            note += (" A ScanSAR product: JAXA gives CF -79.0 dB for ScanSAR W2 products ordered before 2016-09-28; "
                     "set CALIBRATION_DB if yours is one.")
        try:
            scene = open_gdal_scene(path, options.band, calibration, options.scale, options.output_crs,
                                    notes=(note,))
        except InputError as error:
            if os.path.splitext(path)[1].lower() in (".tif", ".tiff"):
                raise
            raise InputError(f"{error} GDAL reads ALOS-2 CEOS images only in some layouts; order the product as "
                             "GeoTIFF (L1.5 or L2.1), or convert it with JAXA's or ESA SNAP's tools.") from None
        return replace(scene, acquisition_date=date)


def _summary_date(folder: str) -> str | None:
    """The scene centre date of an ALOS-2 product's summary.txt (Img_SceneCenterDateTime="20140829 03:32:17.000")."""
    summary = os.path.join(folder, "summary.txt")
    if not os.path.isfile(summary):
        return None
    with open(summary, encoding="utf-8", errors="replace") as text:
        found = re.search(r'Img_SceneCenterDateTime\s*=\s*"?(\d{4})(\d{2})(\d{2})', text.read())
    return f"{found[1]}-{found[2]}-{found[3]}" if found else None
