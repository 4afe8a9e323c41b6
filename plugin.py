"""Registers the Processing provider; everything else lives in ui/ and core/."""

from qgis.core import Qgis, QgsApplication, QgsMessageLog


class SarCoastlinePlugin:
    def __init__(self, iface, missing_modules=()):
        self.iface = iface
        self.missing_modules = list(missing_modules)
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API)
        if self.missing_modules:
            QgsMessageLog.logMessage(
                "SAR Coastline cannot load: missing Python modules " + ", ".join(self.missing_modules)
                + ". Run `make install` in the plugin folder (see README.md).", "SAR Coastline", Qgis.Critical)
            return
        from .ui.provider import CoastlineProvider

        self.provider = CoastlineProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
