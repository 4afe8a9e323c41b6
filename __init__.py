"""SAR Coastline QGIS plugin. QGIS calls classFactory; nothing heavy is imported here."""

import os
from pathlib import Path


def _venv_site_packages() -> list[str]:
    """site-packages of the venv made by `make install` (or named by SAR_COASTLINE_VENV): the developer path."""
    venv = Path(os.environ.get("SAR_COASTLINE_VENV") or Path(__file__).resolve().parent / ".venv")
    return sorted(str(path) for path in venv.glob("lib/python3*/site-packages"))


def add_dependency_paths() -> None:
    """Before anything imports numpy, torch or scikit-image: put first on sys.path the folder that Install
    dependencies fills (in the QGIS profile, one per Python version) and, before it, a developer's venv."""
    from qgis.core import QgsApplication

    from .setup.dependencies import add_to_path, deps_folder

    add_to_path(deps_folder(QgsApplication.qgisSettingsDirPath()))
    for site_packages in reversed(_venv_site_packages()):
        add_to_path(site_packages)


def classFactory(iface):  # noqa: N802 (the name QGIS looks for)
    add_dependency_paths()
    from .plugin import SarCoastlinePlugin

    return SarCoastlinePlugin(iface)
