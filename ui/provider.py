"""The Processing provider `coastline` ("SAR Coastline")."""

from qgis.core import QgsProcessingProvider

from .change_algorithm import ShorelineChangeAlgorithm
from .evaluate_algorithm import EvaluateCoastlineAlgorithm
from .extract_algorithm import ExtractCoastlineAlgorithm
from .train_algorithm import TrainModelsAlgorithm


class CoastlineProvider(QgsProcessingProvider):
    def id(self):
        return "coastline"

    def name(self):
        return "SAR Coastline"

    def longName(self):  # noqa: N802 (QGIS API)
        return "SAR Coastline: coastline extraction from SAR images"

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        self.addAlgorithm(ExtractCoastlineAlgorithm())
        self.addAlgorithm(EvaluateCoastlineAlgorithm())
        self.addAlgorithm(TrainModelsAlgorithm())
        self.addAlgorithm(ShorelineChangeAlgorithm())
