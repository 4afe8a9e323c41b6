"""Install dependencies (coastline:installdependencies): torch, segmentation-models-pytorch and scikit-image into
QGIS's own Python, for the desktop (the first-run dialog opens this algorithm) and headless use (qgis_process)."""

import platform
import sys

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingOutputFolder,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
)
from qgis.PyQt.QtCore import QTimer

from ..setup import dependencies
from .feedback import errors_reported_once, feedback_hooks, run_core
from .parameters import add_parameter

COMPONENT_LABELS = ("Everything: the classical method and the models (torch, segmentation-models-pytorch; 1-5 GB)",
                    "Classical method only (scikit-image, shapely; about 60 MB)")
COMPONENT_VALUES = ("models", "classical")
BUILD_LABELS = ("Auto: the CUDA build when nvidia-smi reports a recent NVIDIA driver, else the CPU build",
                "CPU build", "CUDA build (NVIDIA GPU)")


def dependency_folder():
    return dependencies.deps_folder(QgsApplication.qgisSettingsDirPath())


class InstallDependenciesAlgorithm(QgsProcessingAlgorithm):
    COMPONENTS = "COMPONENTS"
    BUILD = "BUILD"
    WHEELHOUSE = "WHEELHOUSE"
    FOLDER = "FOLDER"
    INSTALLED = "INSTALLED"
    TORCH_BUILD = "TORCH_BUILD"

    def name(self):
        return "installdependencies"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Install dependencies"

    def group(self):
        return "Setup"

    def groupId(self):  # noqa: N802 (QGIS API)
        return "setup"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return (
            "Installs the Python packages SAR Coastline needs into QGIS's own Python, with the versions the plugin "
            "was tested with, in a folder of your QGIS profile (<i>python/sar_coastline_deps/py3XX</i>); packages "
            "QGIS ships (numpy, scipy, GDAL) are kept as they are. The model methods need torch and "
            "segmentation-models-pytorch; the classical method needs scikit-image and shapely only.<br><br>"
            "Online it downloads from PyPI (and download.pytorch.org for the CPU build, and the CUDA build on "
            "Windows); offline, give a <b>wheelhouse</b> folder of .whl files made on another machine with "
            "<i>pip download</i> (see the README). Progress and pip's messages go to the log; Cancel stops pip and "
            "leaves the folder as it was. Run <i>Check device</i> afterwards to see what torch uses.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return InstallDependenciesAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        add_parameter(self, QgsProcessingParameterEnum(self.COMPONENTS, "What to install", COMPONENT_LABELS,
                                                       defaultValue=0),
                      "Everything (default), or only what the model-free classical method needs.")
        add_parameter(self, QgsProcessingParameterEnum(self.BUILD, "torch build", BUILD_LABELS, defaultValue=0),
                      "Auto probes the NVIDIA driver with nvidia-smi; choose CPU to save several GB when the GPU is "
                      "not to be used, or CUDA to override the probe. macOS has the CPU build only (MPS included).")
        add_parameter(self, QgsProcessingParameterFile(self.WHEELHOUSE, "Wheelhouse folder (offline install)",
                                                       behavior=QgsProcessingParameterFile.Behavior.Folder,
                                                       optional=True),
                      "Optional: a folder of .whl files to install from instead of the internet (pip --no-index "
                      "--find-links). It must hold every package pip needs for this Python and platform.")
        self.addOutput(QgsProcessingOutputFolder(self.FOLDER, "Dependency folder"))
        self.addOutput(QgsProcessingOutputString(self.INSTALLED, "Installed packages"))
        self.addOutput(QgsProcessingOutputString(self.TORCH_BUILD, "torch build"))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        component = COMPONENT_VALUES[self.parameterAsEnum(parameters, self.COMPONENTS, context)]
        build = dependencies.BUILDS[self.parameterAsEnum(parameters, self.BUILD, context)]
        wheelhouse = self.parameterAsFile(parameters, self.WHEELHOUSE, context) or None
        hooks = feedback_hooks(feedback)
        target = dependency_folder()

        def install():
            system = platform.system()
            python = dependencies.python_executable(system, sys.executable, sys.exec_prefix)
            gpus = [] if build != "auto" else dependencies.probe_gpus(system)
            shipped = dependencies.installed_versions([path for path in sys.path if path != str(target)])
            plan = dependencies.make_plan(component, build, wheelhouse, target, python, system, gpus, shipped)
            installed = dependencies.install(plan, hooks)
            dependencies.refresh_import_path(target)
            return plan, installed

        plan, installed = run_core(install)
        feedback.pushInfo(f"Installed into {target}: {', '.join(installed) or 'nothing (all present)'}. The model "
                          "methods import torch when they run; restart QGIS if an algorithm is still missing.")
        return {self.FOLDER: str(target), self.INSTALLED: ", ".join(installed),
                self.TORCH_BUILD: plan.build if "torch" in plan.modules else ""}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 (QGIS API; runs on the main thread)
        provider = self.provider()
        if getattr(provider, "missing", None) and not dependencies.missing_modules("classical"):
            QTimer.singleShot(0, provider.refreshAlgorithms)  # Extract, Evaluate ... appear without a restart
        return {}
