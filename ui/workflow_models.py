"""Processing models shipped with the provider (ui/workflows/*.model3): chains of the plugin's algorithms that the
Toolbox offers in one dialog and qgis_process runs by id. Edit them in QGIS's Model Designer (open the file, save
it back)."""

from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsProcessingModelAlgorithm

WORKFLOWS = Path(__file__).resolve().parent / "workflows"


class WorkflowModel(QgsProcessingModelAlgorithm):
    """A shipped model under a stable id, coastline:<file name without _ and extension>, shown by its own name."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        if not self.fromFile(str(self.path)):
            raise ValueError(f"The model file {self.path} cannot be read; reinstall the plugin.")
        self.setSourceFilePath(str(self.path))

    def name(self):
        return self.path.stem.replace("_", "")

    def displayName(self):  # noqa: N802 (QGIS API)
        return QgsProcessingModelAlgorithm.name(self)  # the name saved in the model

    def createInstance(self):  # noqa: N802 (QGIS API)
        # Read again: the model's steps find their algorithms now that the provider is registered.
        return WorkflowModel(self.path)


def workflow_models() -> list[WorkflowModel]:
    """Every shipped model; one that cannot be read is left out with a warning, the algorithms stay."""
    models = []
    for path in sorted(WORKFLOWS.glob("*.model3")):
        try:
            models.append(WorkflowModel(path))
        except ValueError as error:
            QgsMessageLog.logMessage(str(error), "SAR Coastline", Qgis.MessageLevel.Warning)
    return models
