"""The desktop's first-run offer to install the Python packages this QGIS lacks. It only asks: the install itself
is the Install dependencies algorithm, opened in its Processing dialog (runs in the background, with progress, log
and Cancel)."""

from qgis.core import QgsSettings
from qgis.PyQt.QtWidgets import QMessageBox

from ..setup.dependencies import missing_by_component
from .install_dependencies_algorithm import COMPONENT_VALUES

DONT_ASK_KEY = "sar_coastline/dont_offer_install"
INSTALL_ALGORITHM = "coastline:installdependencies"
LATER = ("You can install later from Processing > SAR Coastline > Setup > Install dependencies, also offline from a "
         "wheelhouse folder.")


def should_offer(missing) -> bool:
    return bool(missing) and not QgsSettings().value(DONT_ASK_KEY, False, type=bool)


def message_box(parent, missing) -> tuple[QMessageBox, dict]:
    """What this QGIS lacks, and what that means on it: without the classical method's packages the provider shows
    only Setup, so installing them (small) comes first; without torch only the model methods are missing."""
    classical, models = missing_by_component(missing)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("SAR Coastline: install dependencies?")
    buttons = {}
    if classical:
        also = f" The model methods also need {', '.join(models)}." if models else ""
        box.setText(f"SAR Coastline cannot run yet: this QGIS lacks {', '.join(classical)}, which its algorithms "
                    f"need (only Setup loads without them).{also}")
        box.setInformativeText(
            "Until they are installed the Processing Toolbox shows only SAR Coastline > Setup. The quick first step: "
            f"install the classical method ({', '.join(classical)}: about 60 MB); Extract coastline, Shoreline "
            "change and the other algorithms appear when it finishes, without a restart."
            + (" The model methods (torch and segmentation-models-pytorch: 1 to 5 GB to download, the CUDA build "
               "when an NVIDIA GPU is found) can follow. " if models else " ") + LATER)
        buttons["classical"] = box.addButton("Install the classical method (about 60 MB)…",
                                             QMessageBox.ButtonRole.AcceptRole)
        if models:
            buttons["models"] = box.addButton("Install everything (1 to 5 GB)…", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(buttons["classical"])
    else:
        box.setText("The model methods of SAR Coastline need Python packages that this QGIS does not have: "
                    + ", ".join(models) + ".")
        box.setInformativeText("Install them now into a folder of your QGIS profile (1 to 5 GB to download, the CUDA "
                               "build when an NVIDIA GPU is found)? The classical method works without them. " + LATER)
        buttons["models"] = box.addButton("Install…", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(buttons["models"])
    buttons["later"] = box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    buttons["never"] = box.addButton("Don't ask again", QMessageBox.ButtonRole.DestructiveRole)
    return box, buttons


def open_install_dialog(component: str):
    """The Install dependencies algorithm's dialog with `component` chosen, not modal; None when Processing cannot
    make it."""
    import processing

    dialog = processing.createAlgorithmDialog(INSTALL_ALGORITHM, {"COMPONENTS": COMPONENT_VALUES.index(component)})
    if dialog is not None:
        dialog.show()
    return dialog


def offer_install(parent, missing, ask=None, open_dialog=open_install_dialog):
    """Ask; on an install button open the algorithm's dialog for that component (returned, so the plugin can close
    it on unload)."""
    box, buttons = message_box(parent, missing)
    (ask or (lambda message: message.exec()))(box)
    clicked = box.clickedButton()
    for component in COMPONENT_VALUES:
        if clicked is buttons.get(component):
            return open_dialog(component)
    if clicked is buttons["never"]:
        QgsSettings().setValue(DONT_ASK_KEY, True)
    return None
