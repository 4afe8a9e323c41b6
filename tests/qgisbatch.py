"""Running the Processing batch dialog in a test on every QGIS we support.

QGIS 3.22 runs the rows before runAlgorithm() returns; QGIS 3.40 runs them as background tasks, returns at once,
and deletes the dialog when the last row is done (its outputs were missing when a test looked right away).
"""

import time

from qgis.core import QgsApplication
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication


def run_batch(dialog, timeout_s: float = 300.0) -> None:
    """Run every row of a filled BatchAlgorithmDialog, wait until all have finished, and close the dialog."""
    dialog.runAlgorithm()
    deadline = time.monotonic() + timeout_s
    while not _finished(dialog):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the batch dialog was still running after {timeout_s:.0f} s")
        QCoreApplication.processEvents()
        time.sleep(0.02)
    if not sip.isdeleted(dialog):
        dialog.close()


def _finished(dialog) -> bool:
    # The run button comes back only after the last row (between rows no task may be active for a moment).
    if QgsApplication.taskManager().countActiveTasks():
        return False
    return sip.isdeleted(dialog) or dialog.runButton().isEnabled()
