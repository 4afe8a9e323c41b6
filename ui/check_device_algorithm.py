"""Check device (coastline:checkdevice): torch and CUDA versions, the GPU and its memory, and a forward-pass
timing of the bundled model on the CPU and the GPU."""

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
)

from ..setup.device_check import device_report
from .feedback import errors_reported_once, feedback_hooks, run_core
from .parameters import add_parameter


class CheckDeviceAlgorithm(QgsProcessingAlgorithm):
    TIMING = "TIMING"
    OUTPUTS = (("TORCH_VERSION", "torch", "torch version"),
               ("CUDA_VERSION", "cuda", "CUDA version torch was built with"),
               ("GPU", "gpu", "GPU"), ("MODEL", "model", "Timed model"))
    NUMBERS = (("GPU_MEMORY_GB", "gpu_memory_gb", "GPU memory (GiB)"),
               ("CPU_MS", "cpu_ms", "Forward pass on the CPU (ms per tile)"),
               ("GPU_MS", "gpu_ms", "Forward pass on the GPU (ms per tile)"))

    def name(self):
        return "checkdevice"

    def displayName(self):  # noqa: N802 (QGIS API)
        return "Check device"

    def group(self):
        return "Setup"

    def groupId(self):  # noqa: N802 (QGIS API)
        return "setup"

    def shortHelpString(self):  # noqa: N802 (QGIS API)
        return ("Reports what the model methods will run on: the torch version and the CUDA version it was built "
                "with, each GPU torch sees and its memory (and the NVIDIA driver's own report), and the time of one "
                "forward pass of the bundled model on the CPU and, when there is one, the GPU. Without torch it says "
                "so: run <i>Install dependencies</i>.")

    def createInstance(self):  # noqa: N802 (QGIS API)
        return CheckDeviceAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        add_parameter(self, QgsProcessingParameterBoolean(self.TIMING, "Time the bundled model", defaultValue=True),
                      "Run the bundled model a few times on a random tile and report the median time per pass.")
        for key, _, label in self.OUTPUTS:
            self.addOutput(QgsProcessingOutputString(key, label))
        for key, _, label in self.NUMBERS:
            self.addOutput(QgsProcessingOutputNumber(key, label))

    @errors_reported_once
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        timing = self.parameterAsBool(parameters, self.TIMING, context)
        report = run_core(lambda: device_report(feedback_hooks(feedback), timing=timing))
        first_gpu = report["gpus"][0] if report["gpus"] else {}
        values = {**report, "gpu": first_gpu.get("name"), "gpu_memory_gb": first_gpu.get("memory_gb")}
        results = {key: values[field] or "" for key, field, _ in self.OUTPUTS}
        results.update({key: values[field] for key, field, _ in self.NUMBERS})
        return results
