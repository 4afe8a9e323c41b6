"""QgsProcessingFeedback -> the plain progress / cancel / log callables that core takes; core's errors -> a failed
Processing run, printed once."""

import functools
import os

from qgis.core import QgsApplication, QgsProcessingException

from ..core.errors import CoastlineError
from ..core.hooks import RunHooks
from ..core.io.vectors import estimated_size
from ..core.io.writing import check_free_space


def feedback_hooks(feedback) -> RunHooks:
    """The run hooks core takes, on a Processing feedback: progress bar, cancel button, log, warnings."""
    return RunHooks(progress=feedback.setProgress, cancel=feedback.isCanceled, log=feedback.pushInfo,
                    warn=feedback.pushWarning)


def run_core(call):
    """Run a core call; its errors, a user cancel included, become QgsProcessingException (the run fails, and
    qgis_process exits non-zero)."""
    try:
        return call()
    except CoastlineError as error:
        raise QgsProcessingException(str(error)) from error


def errors_reported_once(process_algorithm):
    """Decorates processAlgorithm: its errors, core's included, fail the run with their message printed once.

    qgis_process prints every critical message of QGIS's log, and QGIS (3.22 to 3.40 at least) logs a failed run's
    error twice besides reporting it (QgsProcessingAlgorithm::run, then QgsProcessingFeedback::reportError): three
    copies of the same text. qgis_process ends right after the failure, so there the log is silenced as the error
    leaves and only its "ERROR:" line is printed. In QGIS itself nothing changes: the dialog shows the error once.
    """

    @functools.wraps(process_algorithm)
    def process(algorithm, parameters, context, feedback):
        try:
            return process_algorithm(algorithm, parameters, context, feedback)
        except CoastlineError as error:
            _silence_log_in_qgis_process()
            raise QgsProcessingException(str(error)) from error
        except QgsProcessingException:
            _silence_log_in_qgis_process()
            raise

    return process


def _silence_log_in_qgis_process() -> None:
    if QgsApplication.platform() == "qgis_process":
        QgsApplication.messageLog().blockSignals(True)


PROVIDER_URI_SCHEMES = ("memory", "ogr", "postgres", "postgis", "spatialite", "mssql", "oracle", "temporary_output")


def file_path(destination: str | None) -> str | None:
    """The file an output destination names, or None for database and memory outputs."""
    if not destination or destination.split(":")[0].lower() in PROVIDER_URI_SCHEMES:
        return None
    return destination.split("|")[0]


def check_writable(*destinations: str) -> None:
    """Fail before any work when a file output cannot be written (database and memory outputs pass): its folder
    missing or read-only, or its disk full."""
    for path in filter(None, map(file_path, destinations)):
        folder = os.path.dirname(os.path.abspath(path)) or "."
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise QgsProcessingException(f"Cannot write '{path}': the folder '{folder}' does not exist or is not "
                                         "writable. Choose another output location.")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise QgsProcessingException(f"Cannot write '{path}': the file is read-only. Choose another name.")
        try:
            check_free_space(path, estimated_size(0, 0))
        except CoastlineError as error:
            raise QgsProcessingException(str(error)) from None
