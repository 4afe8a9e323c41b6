"""QgsProcessingFeedback -> the plain progress / cancel / log callables that core takes."""

import os

from qgis.core import QgsProcessingException

from ..core.errors import CoastlineError
from ..core.hooks import RunHooks


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


PROVIDER_URI_SCHEMES = ("memory", "ogr", "postgres", "postgis", "spatialite", "mssql", "oracle", "temporary_output")


def check_writable(*destinations: str) -> None:
    """Fail before any work when a file output cannot be written (database and memory outputs pass)."""
    for destination in destinations:
        if not destination or destination.split(":")[0].lower() in PROVIDER_URI_SCHEMES:
            continue
        path = destination.split("|")[0]
        folder = os.path.dirname(os.path.abspath(path)) or "."
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise QgsProcessingException(f"Cannot write '{path}': the folder '{folder}' does not exist or is not "
                                         "writable. Choose another output location.")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise QgsProcessingException(f"Cannot write '{path}': the file is read-only. Choose another name.")
