"""Extract coastlines (batch) (coastline:extractcoastlinesbatch): a thin adapter over core.batch."""

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsVectorLayer,
)

from ..core.config import ExtractConfig
from ..core.pipeline.options import BATCH_OPTIONS, config_with
from .feedback import check_writable, errors_reported_once, feedback_hooks, run_core
from .options import add_options, option_values
from .parameters import add_parameter


class ExtractCoastlinesBatchAlgorithm(QgsProcessingAlgorithm):
    LAYERS = "LAYERS"
    FOLDER = "FOLDER"
    LIST = "LIST"
    MODELS = "MODELS"
    BAND = "BAND"
    WORKERS = "WORKERS"
    SCHEDULER = "SCHEDULER"
    OUTPUT = "OUTPUT"

    def name(self):
        return "extractcoastlinesbatch"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Extract coastlines (batch)"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Extracts the coastlines of many SAR scenes into one GeoPackage, as Extract coastline does for one.<br><br>"
            "<b>Scenes</b>: raster layers or files, and/or a <b>folder</b> (its raster files, not its sub-folders) "
            "and/or a <b>scene list</b> (.txt, one path a line).<br>"
            "<b>Band, method, models and the other extraction options</b>: as in Extract coastline (no reference "
            "coastline); the models are loaded once for every scene.<br>"
            "<b>Workers</b>: 0 = one scene at a time in QGIS (the default); more = that many scenes at once on a "
            "local Dask cluster of threads in QGIS (it needs the packages dask and distributed in QGIS's Python, "
            "which the plugin's installer leaves out). For many scenes, or several GPUs, the command line "
            "<i>python -m sar_coastline.batch</i> runs worker processes.<br>"
            "<b>Dask scheduler</b>: optional address of a cluster you run (tcp://host:8786); the scenes then run on "
            "its workers, which must reach the scene files and have the plugin's packages.<br>"
            "<b>Output</b>: a GeoPackage with the layer <i>coastline</i> (every scene's lines, fields scene, date, "
            "method, models, confidence, uncertainty_m, length_m and any the method adds; the CRS of the first "
            "scene, others reprojected) and the table <i>status</i> (scene, source, status, error, seconds, "
            "line_count, length). Each scene is saved as it completes. Run again with the same output to finish a "
            "batch that stopped or was cancelled: scenes with status ok are skipped, failed ones are tried again. A "
            "scene that fails does not stop the others: its error is in the status table and the log.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return ExtractCoastlinesBatchAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        def add(parameter, help_text, advanced=False):
            add_parameter(self, parameter, help_text, advanced)

        number = QgsProcessingParameterNumber
        add(QgsProcessingParameterMultipleLayers(self.LAYERS, "Scenes (raster layers or files)",
                                                 QgsProcessing.TypeRaster, optional=True),
            "SAR rasters in a projected CRS; with a folder and a list, all are run.")
        add(QgsProcessingParameterFile(self.FOLDER, "Folder of scenes", QgsProcessingParameterFile.Behavior.Folder,
                                       optional=True),
            "Every raster file in this folder (.tif, .img, .vrt, ...; not sub-folders).")
        add(QgsProcessingParameterFile(self.LIST, "Scene list (.txt)", extension="txt", optional=True),
            "A text file with one scene path a line (relative to the list's folder); # starts a comment.")
        add(number(self.BAND, "Band (0 = automatic)", number.Integer, 0, minValue=0),
            "Band holding the amplitude in every scene; 0: the only band, or the clearer of two (dual-pol).", True)
        # The table's options (core/pipeline/options.py), as in Extract coastline.
        add_options(self, BATCH_OPTIONS, before={
            "SCALES": [(QgsProcessingParameterMultipleLayers(self.MODELS, "Models (.safetensors files or a .json "
                                                             "manifest)", QgsProcessing.TypeFile, optional=True),
                        "For a model method. Empty: the bundled default model when installed.", False)]})
        add(number(self.WORKERS, "Workers (0 = one scene at a time)", number.Integer, 0, minValue=0, maxValue=64),
            "Scenes run at once on a local Dask cluster in QGIS; 0 runs them one after the other.", True)
        add(QgsProcessingParameterString(self.SCHEDULER, "Dask scheduler address (optional)", optional=True),
            "tcp://host:8786 of a Dask cluster you run; its workers need the scene files and the plugin.", True)
        add(QgsProcessingParameterFileDestination(self.OUTPUT, "Output GeoPackage", "GeoPackage (*.gpkg)"),
            "Lines of every scene (layer coastline) and the status table (layer status); an existing batch output "
            "is resumed.")
        for name, label in (("SCENES_DONE", "Scenes done"), ("SCENES_FAILED", "Scenes failed"),
                            ("SCENES_SKIPPED", "Scenes skipped (done before)")):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..core.pipeline.batch import BatchConfig, find_scenes, run_batch

        inputs = []
        if parameters.get(self.LAYERS):
            inputs += [layer.source() for layer in self.parameterAsLayerList(parameters, self.LAYERS, context)]
        for name in (self.FOLDER, self.LIST):
            path = self.parameterAsFile(parameters, name, context)
            if path:
                inputs.append(path)
        if not inputs:
            raise QgsProcessingException("No scene given. Choose raster layers, a folder of scenes or a scene list.")
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not output.lower().endswith(".gpkg"):
            raise QgsProcessingException(f"The output '{output}' must be a GeoPackage (.gpkg).")
        check_writable(output)
        values = run_core(lambda: option_values(self, parameters, context, BATCH_OPTIONS))
        extract_config = config_with(ExtractConfig(
            band=self.parameterAsInt(parameters, self.BAND, context) or None,
            models=tuple(self.parameterAsFileList(parameters, self.MODELS, context)
                         if parameters.get(self.MODELS) else ())), values)
        # Threads, not processes: worker processes would start this QGIS executable instead of Python.
        config = BatchConfig(extract=extract_config, workers=self.parameterAsInt(parameters, self.WORKERS, context),
                             scheduler=self.parameterAsString(parameters, self.SCHEDULER, context).strip() or None,
                             processes=False)
        result = run_core(lambda: run_batch(find_scenes(inputs), output, config, feedback_hooks(feedback)))
        self._load_on_completion(output, context)
        failed = len(result.failed)
        return {self.OUTPUT: output, "SCENES_DONE": len(result.done) - failed, "SCENES_FAILED": failed,
                "SCENES_SKIPPED": len(result.skipped)}

    @staticmethod
    def _load_on_completion(output: str, context) -> None:
        from ..core.pipeline.batch import LINES_LAYER, STATUS_LAYER

        name = os.path.splitext(os.path.basename(output))[0]
        for layer_name in (LINES_LAYER, STATUS_LAYER):
            uri = f"{output}|layername={layer_name}"
            if QgsVectorLayer(uri, layer_name, "ogr").isValid():
                context.addLayerToLoadOnCompletion(
                    uri, QgsProcessingContext.LayerDetails(f"{name} {layer_name}", context.project(), layer_name))
