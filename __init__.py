"""SAR Coastline QGIS plugin. QGIS calls classFactory; nothing heavy is imported here."""

import importlib.util
import os
import sys
from pathlib import Path

REQUIRED_MODULES = ("numpy", "scipy", "skimage", "shapely")


def _venv_site_packages() -> list[str]:
    """site-packages of the venv made by `make install` (or named by SAR_COASTLINE_VENV)."""
    venv = Path(os.environ.get("SAR_COASTLINE_VENV") or Path(__file__).resolve().parent / ".venv")
    return sorted(str(path) for path in venv.glob("lib/python3*/site-packages"))


def add_dependency_paths() -> list[str]:
    """Put the venv's site-packages first (before Debian's dist-packages); return modules still missing."""
    for site_packages in _venv_site_packages():
        if site_packages not in sys.path:
            sys.path.insert(0, site_packages)
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def classFactory(iface):  # noqa: N802 (the name QGIS looks for)
    missing = add_dependency_paths()
    from .plugin import SarCoastlinePlugin

    return SarCoastlinePlugin(iface, missing)
