"""The Processing provider `coastline` ("SAR Coastline")."""

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProcessingProvider

from ..setup.dependencies import missing_modules
from .check_device_algorithm import CheckDeviceAlgorithm
from .install_dependencies_algorithm import InstallDependenciesAlgorithm


class CoastlineProvider(QgsProcessingProvider):
    missing = ()  # modules the classical method lacks; set when the algorithms load
    waiting_for_registry = False  # the shipped models wait until the provider is registered

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
        from .download_scenes_algorithm import DownloadScenesAlgorithm
        from .evaluate_algorithm import EvaluateCoastlineAlgorithm
        from .extract_algorithm import ExtractCoastlineAlgorithm
        from .find_scenes_algorithm import FindScenesAlgorithm
        from .train_algorithm import TrainModelsAlgorithm

        self.addAlgorithm(ExtractCoastlineAlgorithm())
        self.addAlgorithm(EvaluateCoastlineAlgorithm())
        self.addAlgorithm(TrainModelsAlgorithm())
        self.addAlgorithm(ShorelineChangeAlgorithm())
        self.addAlgorithm(ExtractCoastlinesBatchAlgorithm())
        # asf_search loads only when they run: they are listed, and say how to install it, without it
        self.addAlgorithm(FindScenesAlgorithm())
        self.addAlgorithm(DownloadScenesAlgorithm())
        self._add_workflow_models()

    def _add_workflow_models(self):
        """The shipped models: the whole chain, scenes to change report, in one dialog. Their steps are this
        provider's algorithms, which the registry finds only once the provider is added; until then they wait."""
        from .workflow_models import workflow_models

        registry = QgsApplication.processingRegistry()
        if registry.providerById(self.id()) is not self:
            if not self.waiting_for_registry:
                self.waiting_for_registry = True
                registry.providerAdded.connect(self._load_again_once_registered)
            return
        for model in workflow_models():
            self.addAlgorithm(model)

    def _load_again_once_registered(self, provider_id: str):
        registry = QgsApplication.processingRegistry()
        if provider_id == self.id() and registry.providerById(provider_id) is self:
            registry.providerAdded.disconnect(self._load_again_once_registered)
            self.waiting_for_registry = False
            self.refreshAlgorithms()
