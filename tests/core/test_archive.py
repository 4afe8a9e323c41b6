"""Finding and fetching scenes (core.archive) against a recorded ASF archive on 127.0.0.1 (tests/archive_server.py):
CMR's UMM-G answers read by asf_search, Earthdata Login, a data pool with Range, cuts, stalls and damaged bytes."""

import hashlib
import os
import sys
import threading
import time
from datetime import date

import pytest
from archive_server import (
    DUAL,
    PASSWORD,
    SINGLE,
    TOKEN,
    USERNAME,
    archive_of_two_frames,
    make_certificate,
    opera_granule,
)
from fulldisk import small_disk

from sar_coastline.core.archive.asf import Credentials, SceneQuery, client, find_scenes, open_session
from sar_coastline.core.archive.download import RemoteFile, download_files
from sar_coastline.core.archive.errors import AccessDenied, ArchiveError, MissingClient
from sar_coastline.core.errors import Cancelled, InputError, OutputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.setup import dependencies as deps

AREA = "POLYGON((14 55, 14.5 55, 14.5 55.5, 14 55.5, 14 55))"
BURST = "OPERA_L2_RTC-S1_T131-279916-IW1_20210315T162856Z_20210316T232622Z_S1A_30_v1.0"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("certificate"))


@pytest.fixture
def archive(certificate, monkeypatch):
    """The recorded archive with two GRD frames (dual- and single-pol) and an OPERA burst; the plugin points at it."""
    server = archive_of_two_frames(certificate, monkeypatch, 300_000, 200_000)
    server.state.granules.append(
        opera_granule(server, BURST, {"VV": os.urandom(50_000), "VH": os.urandom(60_000)}, "2021-03-15T16:28:56Z"))
    yield server
    server.close()


def recorded() -> tuple[RunHooks, list[str]]:
    lines = []
    return RunHooks(log=lines.append), lines


def test_grd_search_sends_the_filters_and_reads_every_field(archive):
    scenes = find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31)))
    assert [scene.scene_id for scene in scenes] == [DUAL, SINGLE]  # oldest first; GRD_HD and GRD_HS both
    dual = scenes[0]
    served = archive.state.files[f"{DUAL}.zip"]
    assert (dual.product, dual.platform, dual.start_time, dual.date) == ("GRD_HD", "Sentinel-1A",
                                                                         "2021-03-10T03:20:39Z", "2021-03-10")
    assert (dual.orbit_direction, dual.relative_orbit, dual.absolute_orbit, dual.polarisations) == (
        "ASCENDING", 94, 36990, "VV+VH")
    assert (dual.file_name, dual.url) == (f"{DUAL}.zip", archive.url(f"{DUAL}.zip"))
    assert (dual.size_bytes, dual.md5) == (300_000, served.md5)
    assert dual.footprint[0] == (14.0, 55.0) and dual.footprint[2] == (14.4, 55.3)
    form = archive.state.searches[-1]
    assert ("temporal", "2021-03-01T00:00:00Z,2021-03-31T23:59:59Z,") in form
    assert ("bounding_box", "14.0,55.0,14.5,55.5") in form
    collections = {value for key, value in form if key == "shortName"}
    assert {"SENTINEL-1A_DP_GRD_HIGH", "SENTINEL-1A_SP_GRD_HIGH"} <= collections

    ascending = find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31), orbit_direction="ASCENDING",
                                       polarisation="VV+VH"))
    form = archive.state.searches[-1]
    assert ("attribute[]", "string,ASCENDING_DESCENDING,ASCENDING") in form
    assert ("attribute[]", "string,POLARIZATION,VV+VH") in form
    assert [scene.scene_id for scene in ascending] == [DUAL]  # the server filtered nothing: the client did


def test_opera_burst_is_its_cross_pol_geotiff_with_the_checksum_of_its_record(archive):
    [burst] = find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31), product="OPERA_RTC"))
    assert (burst.scene_id, burst.product, burst.polarisations) == (BURST, "RTC", "VV+VH")
    assert burst.file_name == f"{BURST}_VH.tif"
    assert (burst.size_bytes, burst.md5) == (60_000, archive.state.files[f"{BURST}_VH.tif"].md5)
    assert ("shortName", "OPERA_L2_RTC-S1_V1") in archive.state.searches[-1]
    assert find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31), product="OPERA_RTC",
                                  polarisation="VV")) == []  # a dual-pol burst is not "VV only"


def test_a_search_that_hits_its_limit_says_so_and_archive_errors_say_what_to_do(archive):
    hooks, _lines = recorded()
    assert len(find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31), max_results=1), hooks)) == 1
    assert any("stopped at 1 scenes" in warning for warning in hooks.warnings)
    archive.state.search_error = (400, ["Temporal range is invalid"])
    with pytest.raises(ArchiveError, match="refused the search.*Temporal range is invalid.*Check the area"):
        find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31)))
    with pytest.raises(InputError, match="before the start date"):
        SceneQuery(AREA, date(2021, 3, 31), date(2021, 3, 1))


def test_a_slow_search_is_cancelled_at_once(archive):
    archive.state.search_delay = 20
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="Search cancelled"):
        find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31)), RunHooks(cancel=stop.is_set))
    assert time.monotonic() - started < 1.5


def test_without_asf_search_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "asf_search", None)
    with pytest.raises(MissingClient, match=r"Install dependencies.*pip install asf-search==14\.1\.0"):
        client()
    with pytest.raises(MissingClient):
        find_scenes(SceneQuery(AREA, date(2021, 3, 1), date(2021, 3, 31)))


def test_asf_search_is_pinned_and_installed_with_everything_but_never_asked_for():
    pins = {requirement.name: requirement.spec for requirement in deps.read_requirements()}
    assert pins["asf-search"] == "==14.1.0"
    everything = deps.make_plan("models", "cpu", None, "/deps", "python", "Linux", [], {})
    classical = deps.make_plan("classical", "cpu", None, "/deps", "python", "Linux", [], {})
    assert "asf-search==14.1.0" in everything.requests and "asf_search" in everything.modules
    assert not any(request.startswith("asf-search") for request in classical.requests)
    assert deps.missing_modules("models", lambda module: None if module == "asf_search" else object()) == []


def files_of(archive, *names):
    return [RemoteFile(archive.url(name), name, len(archive.state.files[name].content),
                       archive.state.files[name].md5) for name in names]


def test_a_cut_download_resumes_where_it_stopped(archive, tmp_path):
    name = f"{DUAL}.zip"
    archive.state.files[name].cut_after = 120_000
    hooks, lines = recorded()
    result = download_files(files_of(archive, name), tmp_path, open_session(None), hooks)
    assert result.downloaded == [tmp_path / name] and not result.failed
    assert (tmp_path / name).read_bytes() == archive.state.files[name].content
    assert [request[1] for request in archive.state.file_requests] == [None, "bytes=120000-"]
    assert any("broke off" in line for line in lines) and any("MD5 checked" in line for line in lines)
    assert not (tmp_path / f"{name}.part").exists()


def test_a_part_left_by_an_earlier_run_resumes_and_a_file_there_is_skipped(archive, tmp_path):
    name, other = f"{DUAL}.zip", f"{SINGLE}.zip"
    (tmp_path / f"{name}.part").write_bytes(archive.state.files[name].content[:70_000])
    (tmp_path / other).write_bytes(archive.state.files[other].content)
    result = download_files(files_of(archive, name, other), tmp_path, open_session(None))
    assert result.downloaded == [tmp_path / name] and result.skipped == [tmp_path / other]
    assert archive.state.file_requests == [(name, "bytes=70000-", None)]
    assert hashlib.md5((tmp_path / name).read_bytes()).hexdigest() == archive.state.files[name].md5


def test_a_server_that_ignores_range_sends_the_whole_file_again(archive, tmp_path):
    name = f"{SINGLE}.zip"
    archive.state.files[name].ranges = False
    (tmp_path / f"{name}.part").write_bytes(b"x" * 50_000)
    result = download_files(files_of(archive, name), tmp_path, open_session(None))
    assert result.downloaded and (tmp_path / name).read_bytes() == archive.state.files[name].content


def test_a_damaged_file_is_deleted_and_reported(archive, tmp_path):
    name = f"{BURST}_VH.tif"
    archive.state.files[name].damaged = True
    hooks, _lines = recorded()
    result = download_files(files_of(archive, name), tmp_path, open_session(None), hooks)
    assert result.downloaded == [] and len(result.failed) == 1
    assert "MD5 checksum" in result.failed[0] and "deleted" in result.failed[0] and "Run again" in result.failed[0]
    assert hooks.warnings == result.failed
    assert list(tmp_path.iterdir()) == []


def test_a_protected_file_needs_the_earthdata_login(archive, tmp_path):
    name = f"{DUAL}.zip"
    archive.state.files[name].protected = True
    with pytest.raises(AccessDenied, match=r"refused the download of .*\(HTTP 401\)\. Set AUTHCFG"):
        download_files(files_of(archive, name), tmp_path, open_session(None), refused_hint="Set AUTHCFG.")
    wrong = Credentials(USERNAME, "not-the-password", "the authentication config 'earthd1'")
    with pytest.raises(AccessDenied, match="refused the user name and password of the authentication config "
                                           "'earthd1'") as refused:
        open_session(wrong)
    assert "not-the-password" not in str(refused.value) and "not-the-password" not in repr(wrong)
    session = open_session(Credentials(USERNAME, PASSWORD))
    result = download_files(files_of(archive, name), tmp_path, session)
    assert result.downloaded == [tmp_path / name]
    assert archive.state.file_requests[-1][2] == f"Bearer {TOKEN}"
    assert archive.state.logins == [USERNAME, USERNAME]
    # the token goes to Earthdata Login's host (here 127.0.0.1), not to another host a layer's URL names
    other = f"{SINGLE}.zip"
    elsewhere = RemoteFile(archive.url(other).replace("127.0.0.1", "localhost"), other)
    assert download_files([elsewhere], tmp_path, session).downloaded == [tmp_path / other]
    assert archive.state.file_requests[-1] == (other, None, None)


def test_cancel_stops_a_stalled_download_at_once_and_the_next_run_resumes(archive, tmp_path):
    name = f"{DUAL}.zip"
    served = archive.state.files[name]
    served.stall_after = 100_000
    stop = threading.Event()
    hooks = RunHooks(cancel=stop.is_set, progress=lambda percent: percent > 0 and stop.set())  # the first chunk
    started = time.monotonic()
    with pytest.raises(Cancelled, match="kept and resumes"):
        download_files(files_of(archive, name), tmp_path, open_session(None), hooks)
    assert time.monotonic() - started < 3  # the server still holds the connection, sending nothing
    kept = (tmp_path / f"{name}.part").stat().st_size
    assert 0 < kept <= 100_000 and not (tmp_path / name).exists()

    served.stall_after = None
    archive.state.released.set()  # lets the stalled answer end
    result = download_files(files_of(archive, name), tmp_path, open_session(None))
    assert result.downloaded == [tmp_path / name] and archive.state.file_requests[-1][1] == f"bytes={kept}-"
    assert (tmp_path / name).read_bytes() == served.content


def test_a_full_disk_stops_the_download_plainly_and_keeps_what_came_for_the_next_run(archive, tmp_path):
    name = f"{DUAL}.zip"
    size = len(archive.state.files[name].content)
    with small_disk(tmp_path / "disk", size_kb=max(64, size // 2048)) as folder:
        with pytest.raises(OutputError, match="disk that holds .* free"):  # the archive lists the size: refused first
            download_files(files_of(archive, name), folder, open_session(None))
        assert not list(folder.iterdir())
        unlisted = [RemoteFile(archive.url(name), name)]  # no size listed: the disk fills while writing
        with pytest.raises(OutputError, match="no space left on the disk"):
            download_files(unlisted, folder, open_session(None))
        part = folder / f"{name}.part"
        assert not (folder / name).exists() and 0 < part.stat().st_size < size
