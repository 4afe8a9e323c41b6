"""The Processing provider `coastline` ("SAR Coastline")."""

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider

from ..setup.dependencies import missing_modules
from .check_device_algorithm import CheckDeviceAlgorithm
from .install_dependencies_algorithm import InstallDependenciesAlgorithm


class CoastlineProvider(QgsProcessingProvider):
    missing = ()  # modules the classical method lacks; set when the algorithms load

    def id(self):
        return "coastline"

    def name(self):
        return "SAR Coastline"

    def longName(self):  # noqa: N802 (QGIS API)
        return "SAR Coastline: coastline extraction from SAR images"

    def loadAlgorithms(self):  # noqa: N802 (QGIS API)
        # The setup algorithms load without scikit-image and shapely; the others import them.
        self.addAlgorithm(InstallDependenciesAlgorithm())
        self.addAlgorithm(CheckDeviceAlgorithm())
        self.missing = missing_modules("classical")
        if self.missing:
            QgsMessageLog.logMessage("SAR Coastline: missing Python modules " + ", ".join(self.missing) + ". Run "
                                     "Processing > SAR Coastline > Setup > Install dependencies.", "SAR Coastline",
                                     Qgis.MessageLevel.Warning)
            return
        from .batch_algorithm import ExtractCoastlinesBatchAlgorithm
        from .change_algorithm import ShorelineChangeAlgorithm
        from .evaluate_algorithm import EvaluateCoastlineAlgorithm
        from .extract_algorithm import ExtractCoastlineAlgorithm
        from .train_algorithm import TrainModelsAlgorithm

        self.addAlgorithm(ExtractCoastlineAlgorithm())
        self.addAlgorithm(EvaluateCoastlineAlgorithm())
        self.addAlgorithm(TrainModelsAlgorithm())
        self.addAlgorithm(ShorelineChangeAlgorithm())
        self.addAlgorithm(ExtractCoastlinesBatchAlgorithm())
