"""Train models (coastline:trainmodels): a thin adapter over training.loop.train."""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ..core.inference.predict import DEVICES
from ..models.modelfile import TRANSFORMS
from ..training.loop import TrainConfig
from ..training.presets import ARCHITECTURES, ENCODERS, HEAD_CHOICES, PRESET_LABELS, PRESETS
from .feedback import errors_reported_once, feedback_hooks, run_core
from .geometry import check_projected, source_lines, source_polygons
from .parameters import add_parameter

CUSTOM = "custom"
PRESET_OPTIONS = (*PRESETS, CUSTOM)
CUSTOM_LABEL = "Custom (one model: the architecture, encoder, head and input chosen below)"
DEFAULTS = TrainConfig()


class TrainModelsAlgorithm(QgsProcessingAlgorithm):
    RASTERS = "RASTERS"
    COASTLINES = "COASTLINES"
    LAND = "LAND"
    PRESET = "PRESET"
    ARCHITECTURE = "ARCHITECTURE"
    ENCODER = "ENCODER"
    HEAD = "HEAD"
    TRANSFORM = "TRANSFORM"
    EPOCHS = "EPOCHS"
    STEPS = "STEPS_PER_EPOCH"
    BATCH_SIZE = "BATCH_SIZE"
    CROP_MIN = "CROP_MIN"
    CROP_MAX = "CROP_MAX"
    MODEL_SIDE = "MODEL_SIDE"
    MOSAIC_PARTS = "MOSAIC_PARTS"
    MOSAIC_PROBABILITY = "MOSAIC_PROBABILITY"
    LEARNING_RATE = "LEARNING_RATE"
    VALIDATION_SHARE = "VALIDATION_SHARE"
    DEVICE = "DEVICE"
    SEED = "SEED"
    START_MODEL = "START_MODEL"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"

    def name(self):
        return "trainmodels"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Train models"

    def createInstance(self):  # noqa: N802 (QGIS API)
        return TrainModelsAlgorithm()

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Trains coastline models on your SAR rasters and coastline lines, with the reference paper's recipe "
            "(random crops resized to the model side, flips, rotations, intensity and speckle augmentation, "
            "Cropout, multi-sample mosaicing, a curriculum from easy to hard crops), and validates every epoch "
            "with the coastline metric on held-out scenes (or the bottom rows of a single scene). The best epoch "
            "of each model is kept. Writes self-describing model files (.safetensors) and ensemble.json, which "
            "Extract coastline takes as Models. Running again into the same folder resumes from the "
            "checkpoints; cancel saves a checkpoint and a usable model.<br><br>"
            "<b>SAR rasters</b>: training scenes (one band, projected CRS).<br>"
            "<b>Coastlines</b>: one or more line layers on the sea/land boundary in those scenes (any CRS; "
            "reprojected and combined, so one layer per scene works).<br>"
            "<b>Land polygons</b>: optional; decide which side is land. Without them, the lines must cut each "
            "scene into regions, and a region is sea when its median backscatter is below the scene's Otsu "
            "threshold (the log reports it); lines that end inside a scene are refused. A scene without any "
            "line is labelled all sea or all land, with a warning.<br>"
            "<b>Preset</b>: Fast, Paper ensemble, or Custom (architecture, encoder, head, input below).<br>"
            "<b>Epochs, steps per epoch, batch size, learning rate</b>: the optimisation schedule "
            "(learning rate 0 = the preset's).<br>"
            "<b>Crop side range, model side</b>: crops of a random side in the range are resized to the model "
            "side (the paper: 1024-1536 to 512).<br>"
            "<b>Mosaic parts, mosaic probability</b>: multi-sample mosaicing.<br>"
            "<b>Validation share</b>: share of scenes (or rows of a single scene) held out for validation.<br>"
            "<b>Device</b>: auto takes the GPU when torch sees one. <b>Seed</b>: makes runs repeatable.<br>"
            "<b>Start from model</b>: optional model file to fine-tune (same architecture and encoder; a "
            "different head keeps its encoder and decoder and learns its output layer afresh), e.g. the bundled "
            "default on your own scenes.<br>"
            "<b>Output folder</b>: where model files, checkpoints and ensemble.json go.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        def add(parameter, help_text, advanced=False):
            add_parameter(self, parameter, help_text, advanced)

        number = QgsProcessingParameterNumber
        add(QgsProcessingParameterMultipleLayers(self.RASTERS, "SAR rasters", QgsProcessing.TypeRaster),
            "Training scenes: one band of amplitude, projected CRS.")
        add(QgsProcessingParameterMultipleLayers(self.COASTLINES, "Coastlines", QgsProcessing.TypeVectorLine),
            "The sea/land boundary in the training scenes: one or more line layers, combined.")
        add(QgsProcessingParameterFeatureSource(self.LAND, "Land polygons", [QgsProcessing.TypeVectorPolygon],
                                                optional=True), "Optional: which side of the lines is land.")
        add(QgsProcessingParameterEnum(self.PRESET, "Preset", options=[*PRESET_LABELS.values(), CUSTOM_LABEL],
                                       defaultValue=0),
            "Which models to train.")
        add(QgsProcessingParameterEnum(self.ARCHITECTURE, "Architecture (custom)", options=list(ARCHITECTURES),
                                       defaultValue=0), "segmentation-models-pytorch architecture.", True)
        add(QgsProcessingParameterEnum(self.ENCODER, "Encoder (custom)", options=list(ENCODERS), defaultValue=0),
            "segmentation-models-pytorch encoder (no pretrained weights are downloaded).", True)
        add(QgsProcessingParameterEnum(self.HEAD, "Head (custom)", options=list(HEAD_CHOICES), defaultValue=0),
            "softmax_coast: sea/no-data/land/coast; softmax: sea/no-data/land (both trained with Dice + Focal); "
            "sigmoid: coast line (binary cross-entropy).", True)
        add(QgsProcessingParameterEnum(self.TRANSFORM, "Input transform (custom)", options=list(TRANSFORMS),
                                       defaultValue=0), "log: calibrated dB window; linear: DN / 65535.", True)
        crop = DEFAULTS.crop
        add(number(self.EPOCHS, "Epochs", number.Integer, DEFAULTS.epochs, minValue=1),
            "Passes of training and validation.")
        add(number(self.STEPS, "Steps per epoch", number.Integer, DEFAULTS.steps_per_epoch, minValue=1),
            "Batches per epoch.")
        add(number(self.BATCH_SIZE, "Batch size", number.Integer, DEFAULTS.batch_size, minValue=1),
            "Crops per step. On a GPU that runs out of memory, each batch is split into smaller parts whose "
            "gradients add up (same result, slower).")
        add(number(self.CROP_MIN, "Crop side, smallest (px)", number.Integer, crop.crop_range[0], minValue=32),
            "Smallest crop read from a scene before resizing.", True)
        add(number(self.CROP_MAX, "Crop side, largest (px)", number.Integer, crop.crop_range[1], minValue=32),
            "Largest crop read from a scene before resizing.", True)
        add(number(self.MODEL_SIDE, "Model side (px)", number.Integer, crop.model_side, minValue=64),
            "Side of the model input; a multiple of 32.", True)
        add(number(self.MOSAIC_PARTS, "Mosaic parts", number.Integer, crop.mosaic_parts, minValue=1, maxValue=16),
            "Rectangles a mosaiced sample is split into.", True)
        add(number(self.MOSAIC_PROBABILITY, "Mosaic probability", number.Double, crop.mosaic_probability, minValue=0,
                   maxValue=1), "Chance a sample is mosaiced once the curriculum is complete.", True)
        add(number(self.LEARNING_RATE, "Learning rate (0 = preset's)", number.Double, 0.0, minValue=0.0),
            "Initial learning rate; it decays along a cosine to zero over the run.", True)
        add(number(self.VALIDATION_SHARE, "Validation share", number.Double, DEFAULTS.validation_share, minValue=0.0,
                   maxValue=0.9),
            "Share of scenes, or of a single scene's rows, held out for validation. Validation runs Extract "
            "coastline with its default settings, so the score is what you will get.")
        add(QgsProcessingParameterEnum(self.DEVICE, "Device", options=list(DEVICES),
                                       defaultValue=DEVICES.index(DEFAULTS.device)),
            "auto takes the GPU when torch sees one.", True)
        add(number(self.SEED, "Seed", number.Integer, DEFAULTS.seed, minValue=0),
            "Same seed, same crops and initial weights.", True)
        add(QgsProcessingParameterFile(self.START_MODEL, "Start from model (fine-tune)", extension="safetensors",
                                       optional=True),
            "Optional: a model file whose weights training starts from, such as the bundled default; it must "
            "have the same architecture and encoder as the model trained; with another head its output layer "
            "starts afresh.", True)
        add(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, "Output folder"),
            "Model files, checkpoints and ensemble.json; an existing run there is resumed.")
        self.addOutput(QgsProcessingOutputFile("MANIFEST", "Ensemble manifest"))
        self.addOutput(QgsProcessingOutputNumber("BEST_SCORE", "Best validation score (m)"))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        from ..training.loop import TrainSource, train

        layers = self.parameterAsLayerList(parameters, self.RASTERS, context)
        if not layers:
            raise QgsProcessingException("Choose at least one SAR raster to train on.")
        coastlines = self.parameterAsLayerList(parameters, self.COASTLINES, context)
        if not coastlines:
            raise QgsProcessingException("Choose at least one coastline line layer.")
        land = self.parameterAsSource(parameters, self.LAND, context)
        sources = []
        for layer in layers:
            crs = QgsCoordinateReferenceSystem(layer.crs())
            check_projected(crs, f"The raster '{layer.name()}'")
            lines = [line for coastline in coastlines
                     for line in source_lines(QgsProcessingFeatureSource(coastline, context), crs, context, feedback)]
            polygons = source_polygons(land, crs, context) if land is not None else None
            sources.append(TrainSource(layer.source(), lines, polygons))
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        hooks = feedback_hooks(feedback)
        result = run_core(lambda: train(sources, self._config(parameters, context), folder, hooks))
        scores = [member.score for member in result.members if member.score is not None]
        return {self.OUTPUT_FOLDER: folder, "MANIFEST": str(result.manifest),
                "BEST_SCORE": min(scores) if scores else None}

    def _config(self, parameters, context):
        """The TrainConfig the parameters describe; names a choice that does not fit (InputError)."""
        from dataclasses import replace

        from ..training.dataset import CropConfig
        from ..training.presets import MemberSpec

        preset = PRESET_OPTIONS[self.parameterAsEnum(parameters, self.PRESET, context)]
        if preset == CUSTOM:
            members = (MemberSpec(ARCHITECTURES[self.parameterAsEnum(parameters, self.ARCHITECTURE, context)],
                                  ENCODERS[self.parameterAsEnum(parameters, self.ENCODER, context)],
                                  HEAD_CHOICES[self.parameterAsEnum(parameters, self.HEAD, context)],
                                  TRANSFORMS[self.parameterAsEnum(parameters, self.TRANSFORM, context)]),)
        else:
            members = PRESETS[preset]
        learning_rate = self.parameterAsDouble(parameters, self.LEARNING_RATE, context)
        if learning_rate > 0:
            members = tuple(replace(member, learning_rate=learning_rate) for member in members)
        crop_range = (self.parameterAsInt(parameters, self.CROP_MIN, context),
                      self.parameterAsInt(parameters, self.CROP_MAX, context))
        model_side = self.parameterAsInt(parameters, self.MODEL_SIDE, context)
        if crop_range[0] > crop_range[1] or model_side % 32 or model_side > crop_range[0]:
            raise QgsProcessingException(f"Crop sides {crop_range} must be increasing and at least the model side "
                                         f"{model_side}, which must be a multiple of 32.")
        return TrainConfig(
            members=members, epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
            steps_per_epoch=self.parameterAsInt(parameters, self.STEPS, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            crop=CropConfig(model_side=model_side, crop_range=crop_range,
                            mosaic_parts=self.parameterAsInt(parameters, self.MOSAIC_PARTS, context),
                            mosaic_probability=self.parameterAsDouble(parameters, self.MOSAIC_PROBABILITY, context)),
            validation_share=self.parameterAsDouble(parameters, self.VALIDATION_SHARE, context),
            device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            seed=self.parameterAsInt(parameters, self.SEED, context),
            init_from=self.parameterAsFile(parameters, self.START_MODEL, context) or None)
