"""The desktop's first-run offer to install torch and segmentation-models-pytorch. It only asks: the install
itself is the Install dependencies algorithm, opened in its Processing dialog (runs in the background, with
progress, log and Cancel)."""

from qgis.core import QgsSettings
from qgis.PyQt.QtWidgets import QMessageBox

DONT_ASK_KEY = "sar_coastline/dont_offer_install"
INSTALL_ALGORITHM = "coastline:installdependencies"


def should_offer(missing) -> bool:
    return bool(missing) and not QgsSettings().value(DONT_ASK_KEY, False, type=bool)


def message_box(parent, missing) -> tuple[QMessageBox, dict]:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("SAR Coastline: install dependencies?")
    box.setText("The model methods of SAR Coastline need Python packages that this QGIS does not have: "
                + ", ".join(missing) + ".")
    box.setInformativeText("Install them now into a folder of your QGIS profile (torch and segmentation-models-"
                           "pytorch: 1 to 5 GB to download, the CUDA build when an NVIDIA GPU is found)? The "
                           "classical method works without them. You can install later from Processing > SAR "
                           "Coastline > Setup > Install dependencies, also offline from a wheelhouse folder.")
    buttons = {"install": box.addButton("Install…", QMessageBox.ButtonRole.AcceptRole),
               "later": box.addButton("Not now", QMessageBox.ButtonRole.RejectRole),
               "never": box.addButton("Don't ask again", QMessageBox.ButtonRole.DestructiveRole)}
    box.setDefaultButton(buttons["install"])
    return box, buttons


def open_install_dialog():
    """The Install dependencies algorithm's dialog, not modal; None when Processing cannot make it."""
    import processing

    dialog = processing.createAlgorithmDialog(INSTALL_ALGORITHM)
    if dialog is not None:
        dialog.show()
    return dialog


def offer_install(parent, missing, ask=None, open_dialog=open_install_dialog):
    """Ask; on Install open the algorithm's dialog (returned, so the plugin can close it on unload)."""
    box, buttons = message_box(parent, missing)
    (ask or (lambda message: message.exec()))(box)
    clicked = box.clickedButton()
    if clicked is buttons["install"]:
        return open_dialog()
    if clicked is buttons["never"]:
        QgsSettings().setValue(DONT_ASK_KEY, True)
    return None
