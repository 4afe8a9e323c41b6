"""Extract coastline (coastline:extractcoastline): a thin adapter over core.pipeline.extract."""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBand,
    QgsProcessingParameterCrs,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QVariant

from ..core.config import DEFAULT_METHOD, ExtractConfig
from ..core.io.vectors import estimated_size
from ..core.methods import registry
from ..core.pipeline.options import OPTIONS, config_with
from .feedback import check_writable, errors_reported_once, feedback_hooks, run_core
from .geometry import LINE_TYPE, line_geometry, source_lines
from .options import add_options, option_values
from .parameters import add_parameter
from .sinks import CheckedSink

FIELD_TYPES = {"str": QVariant.String, "real": QVariant.Double, "int": QVariant.LongLong}  # LINE_FIELDS' kinds


class ExtractCoastlineAlgorithm(QgsProcessingAlgorithm):
    INPUT = "INPUT"
    BAND = "BAND"
    OUTPUT_CRS = "OUTPUT_CRS"
    MODELS = "MODELS"
    REFERENCE = "REFERENCE"
    OUTPUT = "OUTPUT"
    QUICKLOOK = "QUICKLOOK"
    PROBABILITIES = "PROBABILITIES"

    def name(self):
        return "extractcoastline"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Extract coastline"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Extracts the coastline (the sea/land boundary) of a SAR image as single-part, ordered lines in the "
            "raster's CRS.<br><br>"
            "<b>SAR image</b>: one band of amplitude DN (e.g. ALOS-2 PALSAR-2 HH, uint16, 0 = no data), linear "
            "power, amplitude or dB (see Scale); a Sentinel-1 GRD product (its manifest.safe, .SAFE folder or zip: "
            "calibrated to sigma0 with its own table, acquisition date read); an ALOS-2 image (IMG-HH-ALOS2...: "
            "calibrated with CF -83 dB, date from its name). A raster in a geographic CRS or placed by GCPs or RPCs "
            "is warped on the fly to the local UTM zone (or Output CRS) at its native ground pixel size; the log "
            "says so.<br>"
            "<b>Band</b>: the band to use; required with three or more bands. With two (dual-pol) and none given, "
            "the band that separates water from land better is taken, usually the cross-pol one; the log says "
            "which and why.<br>"
            "<b>Polarisation</b>: for a product with several (Sentinel-1 VV+VH): the one to use; empty = the one "
            "that separates water from land better (logged).<br>"
            "<b>Scale</b>: what the values are; auto detects it from the data type, the values and the file name "
            "(HyP3's _VV power, _amp, _db) and says why in the log.<br>"
            "<b>Calibration factor</b>: CF of sigma0 = 10 log10(DN^2) + CF for amplitude DN; empty = the sensor's "
            "own (-83.0 dB, PALSAR-2; JAXA gives -79.0 for ScanSAR W2 products ordered before 2016-09-28).<br>"
            "<b>Output CRS</b>: the CRS of the lines (projected); empty = the raster's own, or the local UTM zone "
            "when the raster is not projected.<br>"
            "<b>Method</b>: " + "; ".join(f"{method.name} ({index}) = {method.help}"
                                          for index, method in enumerate(registry.all_methods())) +
            f" The default is {DEFAULT_METHOD}: today it scores best on the accuracy benchmark. Without a "
            "model the model methods fall back to the classical one, with a warning.<br>"
            "<b>Models</b>: model files (.safetensors) or an ensemble manifest (.json) for a model method; for the "
            "coarse-to-fine method, a context model file (python -m sar_coastline.training.context); empty = "
            "the bundled default model, when installed. Giving models with a model-free method is refused.<br>"
            "<b>Scales</b>: crop sides in pixels read around each point and resized to the model side, e.g. "
            "'1024,1280,1536'; empty = those the models were trained with, scaled to this scene's pixel size "
            "(so the model sees the ground resolution it was trained on).<br>"
            "<b>Overlap</b>: share of each tile overlapped by its neighbours.<br>"
            "<b>Batch size</b>: tiles per forward pass; 0 = automatic (64 on a GPU, 4 on a CPU). On GPU "
            "out-of-memory it is halved and the run goes on.<br>"
            "<b>Device</b>: auto takes the GPU when torch sees one, else the CPU (the log says which). Coarse to "
            "fine runs its context model there (fp32), and on the CPU if the GPU runs out of memory.<br>"
            "<b>Precision</b>: auto = bf16 (or fp16) on a GPU, fp32 on a CPU.<br>"
            "<b>Smoothing</b>: sigma of the Gaussian on the merged map, in map cells: 1 px where the scene is read "
            "about one to one (the bundled model), else 2 px; the log gives the map stride.<br>"
            "<b>Edge snap</b>: model methods: each line may move up to this many scene pixels along its normal onto "
            "the image's own water/land edge (the despeckled dB half-way between the water and land found along "
            "the lines); the models still decide where there is coast. 0 = off.<br>"
            "<b>Minimum line length</b>: shorter pieces are dropped (metres).<br>"
            "<b>Water</b>: 0 = the sea's coast only (the default): the sea is the water that touches the image "
            "border or no-data joined to it and holds at least a twentieth of the largest such water (a lake cut by "
            "the border is small beside the sea; or the largest water body when none does), on a grid of about 30 "
            "m; lakes, ponds and rivers above their mouth are left out. 1 = every water boundary.<br>"
            "<b>Reference coastline</b>: optional line layer you trust (OpenStreetMap's coastline, last year's "
            "extraction); parts of lines farther than <b>Reference distance</b> from it are dropped.<br>"
            "<b>Coastline</b>: the output lines, with the fields scene, date, method, models, confidence (0-1, "
            "agreement of models and scales), uncertainty_m (spread of the line position between models and "
            "scales) and length_m. Lines stop where the image has no data and at the image border. Land is on "
            "the left of every line (OpenStreetMap's convention).<br>"
            "<b>Quicklook</b>: optional PNG of the image with the extracted lines drawn over it.<br>"
            "<b>Probabilities</b>: optional GeoTIFF of the fused land (and coast) probability, for inspection.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return ExtractCoastlineAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        def add(parameter, help_text, advanced=False):
            add_parameter(self, parameter, help_text, advanced)

        add(QgsProcessingParameterRasterLayer(self.INPUT, "SAR image"),
            "The SAR raster (amplitude DN, power, amplitude or dB), a Sentinel-1 SAFE product (manifest.safe, .SAFE "
            "folder or zip) or an ALOS-2 image; any georeferencing (geographic, GCPs and RPCs are warped).")
        add(QgsProcessingParameterBand(self.BAND, "Band (required for 3+ bands)", parentLayerParameterName=self.INPUT,
                                       optional=True),
            "Band holding the amplitude; empty: the only band, or for dual-pol the clearer one (logged).")
        # The table's options (core/pipeline/options.py), this algorithm's own parameters in between.
        add_options(self, OPTIONS, before={
            "METHOD": [(QgsProcessingParameterCrs(self.OUTPUT_CRS, "Output CRS (projected)", optional=True),
                        "CRS of the lines; empty: the raster's own, or the local UTM zone for a geographic or GCP "
                        "raster.", False)],
            "SCALES": [(QgsProcessingParameterMultipleLayers(self.MODELS, "Models (.safetensors files or a .json "
                                                             "manifest)", QgsProcessing.TypeFile, optional=True),
                        "For a model method. Empty: the bundled default model when installed, else the classical "
                        "method.", False)],
            "REFERENCE_DISTANCE": [(QgsProcessingParameterFeatureSource(self.REFERENCE, "Reference coastline "
                                                                        "(optional)", [QgsProcessing.TypeVectorLine],
                                                                        optional=True),
                                    "A coastline you already trust; lines farther from it than the reference "
                                    "distance are dropped. Any CRS (reprojected).", False)]})
        add(QgsProcessingParameterFeatureSink(self.OUTPUT, "Coastline", QgsProcessing.TypeVectorLine),
            "The coastline lines, in the raster's CRS, with scene, date, method, models, confidence, uncertainty_m "
            "and length_m.")
        add(QgsProcessingParameterFileDestination(self.QUICKLOOK, "Quicklook (PNG)", "PNG files (*.png)",
                                                  optional=True, createByDefault=False),
            "Optional picture of the image with the extracted lines drawn over it.")
        add(QgsProcessingParameterRasterDestination(self.PROBABILITIES, "Probabilities (GeoTIFF)", optional=True,
                                                    createByDefault=False),
            "Optional GeoTIFF of the fused land (and coast) probability, for inspection (model methods).")
        self.addOutput(QgsProcessingOutputNumber("LINE_COUNT", "Number of lines"))
        self.addOutput(QgsProcessingOutputNumber("LENGTH_KM", "Total length (km)"))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.pipeline.extract import extract, line_fields, line_values

        source = self._source(parameters, context)
        band = self.parameterAsInt(parameters, self.BAND, context) if parameters.get(self.BAND) else None
        quicklook = self.parameterAsFileOutput(parameters, self.QUICKLOOK, context)
        probabilities = (self.parameterAsOutputLayer(parameters, self.PROBABILITIES, context)
                         if parameters.get(self.PROBABILITIES) else None)
        check_writable(self.parameterAsOutputLayer(parameters, self.OUTPUT, context), quicklook, probabilities)
        output_crs = self.parameterAsCrs(parameters, self.OUTPUT_CRS, context)
        values = run_core(lambda: option_values(self, parameters, context, OPTIONS))
        base = ExtractConfig(band=band, output_crs=output_crs.toWkt() if output_crs.isValid() else "",
                             models=tuple(self.parameterAsFileList(parameters, self.MODELS, context)
                                          if parameters.get(self.MODELS) else ()),
                             probabilities_path=probabilities, **self._reference_lines(parameters, context, feedback))
        config = config_with(base, values)
        result = run_core(lambda: extract(source, config, feedback_hooks(feedback)))

        fields = QgsFields()
        schema = line_fields(line.attributes for line in result.lines)
        for name, kind in schema:
            fields.append(QgsField(name, FIELD_TYPES[kind]))
        crs = QgsCoordinateReferenceSystem.fromWkt(result.scene.crs_wkt)
        size = estimated_size(sum(len(line.coords) for line in result.lines), len(result.lines))
        sink = CheckedSink(self, parameters, self.OUTPUT, context, fields, LINE_TYPE, crs, size, "the coastline")
        for line in result.lines:
            feature = QgsFeature(fields)
            feature.setGeometry(line_geometry(line.coords))
            feature.setAttributes(line_values(line.attributes, schema))
            sink.add(feature)
        outputs = {self.OUTPUT: sink.close(), "LINE_COUNT": len(result.lines),
                   "LENGTH_KM": sum(line.length_m for line in result.lines) / 1000}
        if quicklook:
            from ..core.evaluation.report import write_quicklook
            from ..core.io.scene import log_transform, scene_preview

            feedback.pushInfo(f"Writing the quicklook {quicklook}")
            preview_db, preview_geotransform = scene_preview(result.scene)
            run_core(lambda: write_quicklook(quicklook, log_transform(preview_db), preview_geotransform,
                                             [line.coords for line in result.lines], title=result.scene.name))
            outputs[self.QUICKLOOK] = quicklook
        if probabilities:
            outputs[self.PROBABILITIES] = probabilities
        return outputs


    def _source(self, parameters, context) -> str:
        """What core reads: the layer's source, or a product path QGIS does not load as a layer (a .SAFE folder or
        zip), given as text."""
        from ..core.io.readers import readers

        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is not None:
            return layer.source()
        text = parameters.get(self.INPUT)
        if isinstance(text, str) and text:
            if any(reader.name != "gdal" and reader.accepts(text) for reader in readers()):
                return text
        raise QgsProcessingException("The SAR image could not be loaded. Choose a raster layer or file, or a "
                                     "Sentinel-1 .SAFE folder, its zip or its manifest.safe.")

    def _reference_lines(self, parameters, context, feedback) -> dict:
        """The reference coastline's parts and their CRS (core reprojects them to the scene's); empty when none."""
        source = self.parameterAsSource(parameters, self.REFERENCE, context)
        if source is None:
            return {}
        lines = tuple(source_lines(source, source.sourceCrs(), context, feedback))
        if not lines:
            raise QgsProcessingException("The reference coastline layer has no lines. Give a line layer, or leave "
                                         "Reference coastline empty.")
        return {"reference_lines": lines, "reference_crs_wkt": source.sourceCrs().toWkt()}

