"""Find SAR scenes and Download SAR scenes (coastline:findscenes, coastline:downloadscenes) through processing.run
and qgis_process, against the recorded ASF archive of tests/archive_server.py: every field in the CRS asked for, a
selection downloaded into a folder Extract coastlines (batch) reads, resume, checksums, credentials, cancel."""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import processing
import pytest
from archive_server import (
    DUAL,
    PASSWORD,
    SINGLE,
    USERNAME,
    archive_of_two_frames,
    make_certificate,
    opera_granule,
)
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)

from sar_coastline.ui.find_scenes_algorithm import SCENE_FIELDS

FIND, DOWNLOAD, BATCH = "coastline:findscenes", "coastline:downloadscenes", "coastline:extractcoastlinesbatch"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROFILE = Path(__file__).resolve().parents[2] / ".qgis-profile"
MARCH = {"START": "2021-03-01", "END": "2021-03-31"}
# lon 14 to 14.5, lat 55 to 55.5 in web Mercator
MERCATOR_AREA = "1558472.87,1614132.62,7361866.11,7459516.94 [EPSG:3857]"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("certificate"))


@pytest.fixture
def archive(certificate, monkeypatch):
    server = archive_of_two_frames(certificate, monkeypatch, 200_000, 150_000)
    yield server
    server.close()


def test_without_asf_search_the_plugin_loads_and_the_algorithms_say_how_to_install_it(provider, monkeypatch):
    monkeypatch.setitem(sys.modules, "asf_search", None)  # import asf_search now fails
    provider.refreshAlgorithms()
    names = {algorithm.name() for algorithm in provider.algorithms()}
    assert {"findscenes", "downloadscenes", "extractcoastline", "shorelinechangefromscenes"} <= names
    with pytest.raises(QgsProcessingException, match=r"asf_search .*Install dependencies"):
        processing.run(FIND, {"AREA": MERCATOR_AREA, **MARCH, "OUTPUT": "memory:"})


def features_by_id(path):
    layer = QgsVectorLayer(str(path), "footprints")
    assert layer.isValid()
    return layer, {feature["scene_id"]: feature for feature in layer.getFeatures()}


def test_find_writes_every_field_in_the_crs_asked_for_and_adds_the_layer(provider, archive, tmp_path):
    output = tmp_path / "footprints.gpkg"
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    result = processing.run(FIND, {"AREA": MERCATOR_AREA, **MARCH, "OUTPUT_CRS": "EPSG:32633",
                                   "OUTPUT": str(output)}, context=context)
    assert result["SCENE_COUNT"] == 2 and result["TOTAL_GB"] == pytest.approx(350_000 / 1e9, abs=1e-3)
    assert context.willLoadLayerOnCompletion(result["OUTPUT"])
    bbox = dict(archive.state.searches[-1])["bounding_box"].split(",")
    assert np.allclose([float(value) for value in bbox], [14, 55, 14.5, 55.5], atol=1e-4)

    layer, scenes = features_by_id(output)
    assert layer.crs().authid() == "EPSG:32633"
    assert [name for name in layer.fields().names() if name != "fid"] == [name for name, _kind in SCENE_FIELDS]
    dual = scenes[DUAL]
    served = archive.state.files[f"{DUAL}.zip"]
    assert [dual[name] for name in ("date", "start_time", "product", "platform", "orbit_direction", "relative_orbit",
                                    "absolute_orbit", "polarisations", "size_bytes", "file_name", "url", "md5")] == [
        "2021-03-10", "2021-03-10T03:20:39Z", "GRD_HD", "Sentinel-1A", "ASCENDING", 94, 36990, "VV+VH", 200_000,
        f"{DUAL}.zip", archive.url(f"{DUAL}.zip"), served.md5]
    assert scenes[SINGLE]["polarisations"] == "VV" and scenes[SINGLE]["product"] == "GRD_HS"
    to_utm = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                    QgsCoordinateReferenceSystem("EPSG:32633"), QgsProject.instance())
    corner = to_utm.transform(QgsPointXY(14.4, 55.3))
    assert dual.geometry().vertexAt(2).distance(corner.x(), corner.y()) < 0.01


def test_find_defaults_to_the_project_crs_and_searches_the_selected_polygon(provider, archive):
    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:3035"))
    area = QgsVectorLayer("Polygon?crs=EPSG:4326", "area", "memory")
    for wkt in ("POLYGON((14 55, 14.5 55, 14.5 55.5, 14 55.5, 14 55))", "POLYGON((-60 50, -59 50, -59 51, -60 50))"):
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        area.dataProvider().addFeature(feature)
    project.addMapLayer(area)
    try:
        area.selectByIds([next(area.getFeatures()).id()])
        context = QgsProcessingContext()
        context.setProject(project)
        result = processing.run(FIND, {"AREA_LAYER": QgsProcessingFeatureSourceDefinition(area.id(), True), **MARCH,
                                       "ORBIT": 1, "POLARISATION": 1, "OUTPUT": "memory:"}, context=context)
        footprints = result["OUTPUT"]  # processing.run hands memory outputs back as layers
        assert footprints.crs().authid() == "EPSG:3035"
        assert [feature["scene_id"] for feature in footprints.getFeatures()] == [DUAL]
        form = archive.state.searches[-1]
        assert ("bounding_box", "14.0,55.0,14.5,55.5") in form  # the selected polygon only
        assert ("attribute[]", "string,ASCENDING_DESCENDING,ASCENDING") in form
        assert ("attribute[]", "string,POLARIZATION,VV+VH") in form
    finally:
        project.removeMapLayer(area.id())
        project.setCrs(QgsCoordinateReferenceSystem())


def test_find_without_an_area_says_what_to_give(provider, archive):
    with pytest.raises(QgsProcessingException, match="No area given"):
        processing.run(FIND, {**MARCH, "OUTPUT": "memory:"})
    assert archive.state.searches == []


def opera_series(archive, folder: Path, count: int = 4):
    """OPERA-like bursts of a coast at several dates: float32 gamma0 power GeoTIFFs in UTM, named as OPERA names
    them (the date comes from the name), built from the generated moving coast."""
    from osgeo import gdal, osr

    from sar_coastline.core.io.scene import CF_DB
    from sar_coastline.synthetic.scenes import CRS_EPSG
    from sar_coastline.synthetic.series import MovingCoast, generate_series

    coast = MovingCoast()
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(CRS_EPSG)
    dates = []
    for scene in generate_series(coast)[:count]:
        name = f"OPERA_L2_RTC-S1_T131-279916-IW1_{scene.when:%Y%m%dT%H%M%S}Z_{scene.when:%Y%m%d}T235959Z_S1A_30_v1.0"
        path = folder / f"{name}_VH.tif"
        dataset = gdal.GetDriverByName("GTiff").Create(str(path), coast.size, coast.size, 1, gdal.GDT_Float32)
        dataset.SetGeoTransform(coast.geotransform)
        dataset.SetProjection(srs.ExportToWkt())
        dataset.GetRasterBand(1).WriteArray((scene.dn.astype(np.float64) ** 2 * 10 ** (CF_DB / 10)).astype(np.float32))
        dataset = None
        archive.state.granules.append(opera_granule(archive, name, {"VH": path.read_bytes()},
                                                    f"{scene.when:%Y-%m-%dT%H:%M:%S}Z", lon=15.0, lat=54.1))
        dates.append(f"{scene.when:%Y-%m-%d}")
    return dates


def test_a_downloaded_selection_resumes_is_checked_and_feeds_the_batch_as_it_is(provider, archive, tmp_path):
    made = tmp_path / "made"
    made.mkdir()
    dates = opera_series(archive, made)
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    found = processing.run(FIND, {"AREA": "14.9,15.3,54.0,54.3 [EPSG:4326]", "START": "2016-01-01",
                                  "END": "2023-12-31", "PRODUCT": 1, "OUTPUT_CRS": "EPSG:32633",
                                  "OUTPUT": str(tmp_path / "footprints.gpkg")}, context=context)
    assert found["SCENE_COUNT"] == len(dates)
    footprints = QgsVectorLayer(found["OUTPUT"], "footprints")
    project.addMapLayer(footprints)
    try:
        chosen = [feature for feature in footprints.getFeatures() if feature["date"] != dates[1]]
        footprints.selectByIds([feature.id() for feature in chosen])
        cut = chosen[0]["file_name"]
        archive.state.files[cut].cut_after = 100_000
        source = QgsProcessingFeatureSourceDefinition(footprints.id(), True)
        folder = tmp_path / "scenes"
        result = processing.run(DOWNLOAD, {"INPUT": source, "FOLDER": str(folder)}, context=context)
        assert (result["DOWNLOADED"], result["SKIPPED"]) == (3, 0)
        assert sorted(path.name for path in folder.iterdir()) == sorted(feature["file_name"] for feature in chosen)
        assert (cut, "bytes=100000-", None) in archive.state.file_requests
        again = processing.run(DOWNLOAD, {"INPUT": source, "FOLDER": str(folder)}, context=context)
        assert (again["DOWNLOADED"], again["SKIPPED"]) == (0, 3)
    finally:
        project.removeMapLayer(footprints.id())

    batch = processing.run(BATCH, {"FOLDER": str(folder), "OUTPUT": str(tmp_path / "coast.gpkg")})
    assert (batch["SCENES_DONE"], batch["SCENES_FAILED"]) == (3, 0)
    lines = QgsVectorLayer(f"{tmp_path / 'coast.gpkg'}|layername=coastline", "lines")
    assert {feature["date"][:10] for feature in lines.getFeatures()} == {dates[0], dates[2], dates[3]}


class CancelOnProgress(QgsProcessingFeedback):
    """Cancels as soon as some progress is reported (a first chunk came)."""

    def setProgress(self, progress):  # noqa: N802 (QGIS API)
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_refusals_and_damaged_files_say_what_to_do_and_cancel_is_prompt(provider, archive, tmp_path):
    found = processing.run(FIND, {"AREA": MERCATOR_AREA, **MARCH, "OUTPUT": str(tmp_path / "footprints.gpkg")})
    footprints = found["OUTPUT"]
    archive.state.files[f"{DUAL}.zip"].protected = True
    with pytest.raises(QgsProcessingException, match=r"HTTP 401.*Earthdata login.*type Basic.*AUTHCFG"):
        processing.run(DOWNLOAD, {"INPUT": footprints, "FOLDER": str(tmp_path / "refused")})
    with pytest.raises(QgsProcessingException, match="no authentication config 'nosuch1'"):
        processing.run(DOWNLOAD, {"INPUT": footprints, "FOLDER": str(tmp_path / "refused"), "AUTHCFG": "nosuch1"})

    archive.state.files[f"{DUAL}.zip"].protected = False
    archive.state.files[f"{SINGLE}.zip"].damaged = True
    folder = tmp_path / "damaged"
    with pytest.raises(QgsProcessingException, match=r"1 of 2 scene\(s\) did not download: .*MD5 checksum.*deleted"):
        processing.run(DOWNLOAD, {"INPUT": footprints, "FOLDER": str(folder)})
    assert sorted(path.name for path in folder.iterdir()) == [f"{DUAL}.zip"]

    archive.state.search_delay = 20
    feedback = QgsProcessingFeedback()
    threading.Timer(0.5, feedback.cancel).start()
    started = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Search cancelled"):
        processing.run(FIND, {"AREA": MERCATOR_AREA, **MARCH, "OUTPUT": "memory:"}, feedback=feedback)
    assert time.monotonic() - started < 3

    archive.state.files[f"{DUAL}.zip"].stall_after = 70_000  # the first scene: the server goes silent
    started = time.monotonic()
    with pytest.raises(QgsProcessingException, match="Download cancelled"):
        processing.run(DOWNLOAD, {"INPUT": footprints, "FOLDER": str(tmp_path / "cancelled")},
                       feedback=CancelOnProgress())
    assert time.monotonic() - started < 3
    assert [path.name for path in (tmp_path / "cancelled").iterdir()] == [f"{DUAL}.zip.part"]


# A new authentication database with a Basic config: the master password is set once from the file that
# QGIS_AUTH_PASSWORD_FILE names, which later starts (qgis_process) read by themselves.
MAKE_AUTH_CONFIG = textwrap.dedent("""
    import os, sys
    from qgis.core import QgsApplication, QgsAuthMethodConfig
    app = QgsApplication([], False)
    app.initQgis()
    manager = QgsApplication.authManager()
    with open(os.environ["QGIS_AUTH_PASSWORD_FILE"]) as handle:
        assert manager.setMasterPassword(handle.read(), True)
    config = QgsAuthMethodConfig("Basic")
    config.setId("earthd1")
    config.setName("Earthdata")
    config.setConfig("username", sys.argv[1])
    config.setConfig("password", sys.argv[2])
    assert manager.storeAuthenticationConfig(config)[0]
""")


def test_qgis_process_finds_and_downloads_with_an_auth_config(archive, tmp_path):
    assert (PROFILE / "profiles/default/python/plugins/sar_coastline").exists(), "run `make install` first"
    auth = tmp_path / "auth"
    auth.mkdir()
    (auth / "master").write_text("a master password")
    environment = {**os.environ, **archive.environment, "QT_QPA_PLATFORM": "offscreen",
                   "QGIS_CUSTOM_CONFIG_PATH": str(PROFILE), "QGIS_AUTH_DB_DIR_PATH": str(auth),
                   "QGIS_AUTH_PASSWORD_FILE": str(auth / "master")}
    subprocess.run(["/usr/bin/python3", "-c", MAKE_AUTH_CONFIG, USERNAME, PASSWORD], env=environment, check=True,
                   capture_output=True, timeout=120)

    def qgis_process(*arguments):
        return subprocess.run([QGIS_PROCESS, "run", *arguments], capture_output=True, text=True, env=environment,
                              timeout=300)

    footprints = tmp_path / "footprints.gpkg"
    found = qgis_process(FIND, "--json", "--AREA=14,14.5,55,55.5 [EPSG:4326]", "--START=2021-03-01",
                         "--END=2021-03-31", "--OUTPUT_CRS=EPSG:4326", f"--OUTPUT={footprints}")
    assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-2000:]
    assert json.loads(found.stdout[found.stdout.index("{"):])["results"]["SCENE_COUNT"] == 2

    for served in archive.state.files.values():
        served.protected = True
    refused = qgis_process(DOWNLOAD, f"--INPUT={footprints}", f"--FOLDER={tmp_path / 'refused'}")
    assert refused.returncode != 0 and "AUTHCFG" in refused.stdout + refused.stderr
    downloaded = qgis_process(DOWNLOAD, "--json", f"--INPUT={footprints}", f"--FOLDER={tmp_path / 'scenes'}",
                              "--AUTHCFG=earthd1")
    assert downloaded.returncode == 0, downloaded.stdout[-2000:] + downloaded.stderr[-2000:]
    assert json.loads(downloaded.stdout[downloaded.stdout.index("{"):])["results"]["DOWNLOADED"] == 2
    assert sorted(path.name for path in (tmp_path / "scenes").iterdir()) == [f"{DUAL}.zip", f"{SINGLE}.zip"]
    assert archive.state.logins == [USERNAME]
    assert PASSWORD not in downloaded.stdout + downloaded.stderr
