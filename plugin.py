"""Registers the Processing provider and, in the desktop, offers to install missing dependencies once."""

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer


class SarCoastlinePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.install_dialog = None

    def initProcessing(self):  # noqa: N802 (QGIS API; qgis_process calls only this, so no dialog headless)
        if self.provider is not None:
            return
        from .ui.provider import CoastlineProvider

        self.provider = CoastlineProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API)
        self.initProcessing()
        from .setup.dependencies import missing_modules
        from .ui.dependencies_dialog import should_offer

        missing = missing_modules("models")
        if should_offer(missing):
            QTimer.singleShot(0, lambda: self.offer_install(missing))  # once QGIS has finished starting

    def offer_install(self, missing):
        from .ui.dependencies_dialog import offer_install

        if self.provider is not None:  # not unloaded meanwhile
            self.install_dialog = offer_install(self.iface.mainWindow(), missing)

    def unload(self):
        if self.install_dialog is not None:
            self.install_dialog.close()
            self.install_dialog = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
