"""Shared fixtures: generated scenes, rasters with defects, and the Processing provider."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def scene_paths(tmp_path_factory):
    """A small generated rocky scene with its ground truth (GeoTIFF + GeoPackage)."""
    from sar_coastline.synthetic.scenes import generate_scene, write_scene

    folder = tmp_path_factory.mktemp("scene")
    return write_scene(generate_scene(512, 512, seed=11, style="rocky"), folder, "rocky_512")


@pytest.fixture(scope="session")
def provider(qgis_app, qgis_processing):
    """The plugin's provider, registered once; the reference is kept or its algorithms vanish."""
    from qgis.core import QgsApplication

    from sar_coastline.ui.provider import CoastlineProvider

    coastline_provider = CoastlineProvider()
    assert QgsApplication.processingRegistry().addProvider(coastline_provider)
    yield coastline_provider
    QgsApplication.processingRegistry().removeProvider(coastline_provider)
