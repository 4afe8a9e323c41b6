"""Extract coastline (coastline:extractcoastline): a thin adapter over core.extract."""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QVariant

from .feedback import callbacks, check_writable, run_core
from .geometry import LINE_TYPE, line_geometry

METHOD_LABELS = ("Classical (model-free: calibrated dB, despeckle, Otsu, sub-pixel contour)",)
FIELDS = (("scene", QVariant.String), ("date", QVariant.String), ("method", QVariant.String),
          ("length_m", QVariant.Double))


class ExtractCoastlineAlgorithm(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    BAND = "BAND"
    METHOD = "METHOD"
    MIN_LENGTH = "MIN_LENGTH"
    OUTPUT = "OUTPUT"
    QUICKLOOK = "QUICKLOOK"

    def name(self):
        return "extractcoastline"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Extract coastline"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Extracts the coastline (the sea/land boundary) of a SAR image as single-part, ordered lines in the "
            "raster's CRS.<br><br>"
            "<b>SAR image</b>: one band of amplitude DN (e.g. ALOS-2 PALSAR-2 HH, uint16, 0 = no data). Float "
            "bands are read as linear sigma0 power, or as dB when they hold negative values; the log says which. "
            "The raster needs a projected CRS (metres).<br>"
            "<b>Band</b>: the band to use; required when the raster has more than one.<br>"
            "<b>Method</b>: Classical = model-free (calibrated dB, despeckle, Otsu threshold, clean-up, "
            "sub-pixel contour).<br>"
            "<b>Minimum line length</b>: shorter pieces are dropped (metres).<br>"
            "<b>Coastline</b>: the output lines, with the fields scene, date, method and length_m. Lines stop "
            "where the image has no data and at the image border.<br>"
            "<b>Quicklook</b>: optional PNG of the image with the extracted lines drawn over it.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return ExtractCoastlineAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "SAR image"))
        band = QgsProcessingParameterBand(self.BAND, "Band (required for multi-band rasters)",
                                          parentLayerParameterName=self.INPUT, optional=True)
        band.setHelp("Band holding the amplitude; leave empty for a single-band raster.")
        self.addParameter(band)
        method = QgsProcessingParameterEnum(self.METHOD, "Method", options=list(METHOD_LABELS), defaultValue=0)
        method.setHelp("How the coastline is found. Classical needs no model.")
        self.addParameter(method)
        min_length = QgsProcessingParameterNumber(self.MIN_LENGTH, "Minimum line length (m)",
                                                  QgsProcessingParameterNumber.Double, 60.0, minValue=0.0)
        min_length.setHelp("Lines shorter than this are dropped as noise.")
        self.addParameter(min_length)
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, "Coastline", QgsProcessing.TypeVectorLine))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.QUICKLOOK, "Quicklook (PNG)", "PNG files (*.png)", optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("LINE_COUNT", "Number of lines"))
        self.addOutput(QgsProcessingOutputNumber("LENGTH_KM", "Total length (km)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.extract import METHODS, ExtractConfig, extract

        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException("The SAR image could not be loaded. Choose a raster layer or file.")
        band = self.parameterAsInt(parameters, self.BAND, context) if parameters.get(self.BAND) else None
        config = ExtractConfig(method=METHODS[self.parameterAsEnum(parameters, self.METHOD, context)], band=band,
                               min_length_m=self.parameterAsDouble(parameters, self.MIN_LENGTH, context))
        quicklook = self.parameterAsFileOutput(parameters, self.QUICKLOOK, context)
        check_writable(self.parameterAsOutputLayer(parameters, self.OUTPUT, context), quicklook)
        hooks = callbacks(feedback)
        result = run_core(lambda: extract(layer.source(), config, hooks.progress, hooks.cancel, hooks.log), feedback)
        if result is None:
            return {}

        fields = QgsFields()
        for name, kind in FIELDS:
            fields.append(QgsField(name, kind))
        crs = QgsCoordinateReferenceSystem.fromWkt(result.scene.crs_wkt)
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, LINE_TYPE, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for line in result.lines:
            feature = QgsFeature(fields)
            feature.setGeometry(line_geometry(line.coords))
            feature.setAttributes([line.attributes.get(name) for name, _kind in FIELDS])
            if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(f"Could not write to the output: {sink.lastError()}")
        outputs = {self.OUTPUT: dest_id, "LINE_COUNT": len(result.lines),
                   "LENGTH_KM": sum(line.length_m for line in result.lines) / 1000}
        if quicklook:
            from ..core.raster import log_transform, scene_preview
            from ..core.report import write_quicklook

            feedback.pushInfo(f"Writing the quicklook {quicklook}")
            preview_db, preview_geotransform = scene_preview(result.scene)
            run_core(lambda: write_quicklook(quicklook, log_transform(preview_db), preview_geotransform,
                                             [line.coords for line in result.lines], title=result.scene.name),
                     feedback)
            outputs[self.QUICKLOOK] = quicklook
        return outputs
