"""Write failures said plainly (core/io/writing.py), and every file writer of the engine on a full disk: the message
names the cause, no partial file is left, and the file that was there before is untouched."""

import errno
import os
from collections import namedtuple

import numpy as np
import pytest
from fulldisk import fill, small_disk
from osgeo import osr

from sar_coastline.core.errors import Cancelled, OutputError
from sar_coastline.core.evaluation.report import write_quicklook
from sar_coastline.core.io import vectors, writing
from sar_coastline.core.io.probabilities import ProbabilityWriter
from sar_coastline.core.io.readers import open_scene
from sar_coastline.core.io.writing import check_free_space, output_error, replace_on_success, write_bytes
from sar_coastline.core.lines.vectorize import Coastline, write_lines
from sar_coastline.models.modelfile import write_manifest
from sar_coastline.synthetic.scenes import generate_scene, write_scene
from testdata import two_halves_dn, write_raster

DiskUsage = namedtuple("DiskUsage", "total used free")
FREE_DISK_SPACE = "Free disk space or choose another location"


def _utm_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    return srs.ExportToWkt()


LINES = [Coastline(np.column_stack([500_000.0 + np.arange(400.0), 6_000_000.0 + np.arange(400.0)]), {"scene": "a"})]
SQLITE_FULL = ("sqlite3_exec(CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL "
               "PRIMARY KEY)) failed: database or disk is full")


@pytest.mark.parametrize(("error", "words"), [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on the disk"),
    (RuntimeError(f"Feature creation error (OGR error: {SQLITE_FULL})"), "no space left on the disk"),
    (Exception('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on '
               'device" })'), "no space left on the disk"),  # safetensors' own exception type
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "disk quota"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only drive"),
    (RuntimeError("attempt to write a readonly database"), "read-only drive"),
    (PermissionError(errno.EACCES, "Permission denied"), "no permission to write"),
    (OSError(errno.ENAMETOOLONG, "File name too long"), "path is too long"),
    (RuntimeError("sqlite3_exec(COMMIT) failed: database is locked"), "another program holds the file"),
])
def test_each_cause_is_said_in_plain_words_with_what_to_do(tmp_path, error, words):
    message = str(output_error(tmp_path / "coast.gpkg", error, "the coastline"))
    assert message.startswith(f"Cannot write the coastline '{tmp_path / 'coast.gpkg'}': ")
    assert words in message
    assert "CREATE TABLE" not in message  # SQLite's statement is cut down to why it failed


def test_an_unexplained_failure_on_a_nearly_full_disk_is_taken_for_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(writing.shutil, "disk_usage", lambda path: DiskUsage(10 << 20, 10 << 20, 4096))
    assert "no space left on the disk" in str(output_error(tmp_path / "b.gpkg", RuntimeError("disk I/O error")))
    assert "no space left on the disk" in str(output_error(tmp_path / "b.gpkg", RuntimeError("")))
    assert "(4.0 KB free)" in str(output_error(tmp_path / "b.gpkg", RuntimeError("")))
    monkeypatch.setattr(writing.shutil, "disk_usage", lambda path: DiskUsage(1 << 40, 0, 1 << 39))
    message = str(output_error(tmp_path / "b.gpkg", RuntimeError("disk I/O error")))
    assert "input/output error" in message and "no space" not in message
    assert "no space left" in str(output_error(tmp_path / "b.gpkg", RuntimeError(""), needed_bytes=1 << 40))


def test_a_missing_folder_is_named(tmp_path):
    message = str(output_error(tmp_path / "gone" / "a.png", FileNotFoundError(errno.ENOENT, "No such file")))
    assert f"the folder '{tmp_path / 'gone'}' does not exist" in message


def test_the_free_space_is_checked_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(writing.shutil, "disk_usage", lambda path: DiskUsage(1 << 30, 1 << 30, 3 << 20))
    check_free_space(tmp_path / "a.png", 2 << 20)
    with pytest.raises(OutputError, match=r"the quicklook .* needs about 4.0 MB and the disk .* has 3.0 MB free"):
        check_free_space(tmp_path / "a.png", 4 << 20, "the quicklook")
    with pytest.raises(OutputError, match=FREE_DISK_SPACE):
        write_bytes(tmp_path / "a.png", b"x" * (4 << 20))
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("before")
    with pytest.raises(OutputError, match="no space left on the disk"), replace_on_success(target) as temporary:
        temporary.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "before" and os.listdir(tmp_path) == ["report.html"]
    with pytest.raises(Cancelled), replace_on_success(target) as temporary:  # not a write failure: passed on
        temporary.write_text("half")
        raise Cancelled()
    assert target.read_text() == "before" and os.listdir(tmp_path) == ["report.html"]
    with replace_on_success(target) as temporary:
        temporary.write_text("after")
    assert target.read_text() == "after" and os.listdir(tmp_path) == ["report.html"]


def _quicklook(path):
    write_quicklook(path, np.random.default_rng(0).random((300, 300)), (500_000.0, 10.0, 0.0, 6_000_000.0, 0.0, -10.0),
                    [line.coords for line in LINES])


def _lines(path):
    write_lines(str(path), LINES, _utm_wkt())


def _probabilities(path):
    scene = open_scene(str(write_raster(path.parent.parent / "scene.tif", two_halves_dn(512, 512))))
    writer = ProbabilityWriter(str(path), scene, 1, {"land": 0})
    try:
        strip = np.random.default_rng(0).random((1, 512, 512)).astype(np.float32)  # noise: it does not compress
        writer.write(0, strip)
        writer.close()
    except BaseException:
        writer.discard()  # as core/methods/models.py does
        raise


def _manifest(path):
    write_manifest(path, [(str(path.parent / "member.safetensors"), 1.0)] * 2000)


def _generated_scene(path):  # the training command line writes its generated scenes so
    write_scene(generate_scene(256, 256, 5, "rocky"), path.parent, path.stem)


WRITERS = {"quicklook.png": _quicklook, "coast.gpkg": _lines, "coast.shp": _lines, "probabilities.tif": _probabilities,
           "ensemble.json": _manifest, "scene.tif": _generated_scene}


@pytest.mark.parametrize("checked_first", [True, False], ids=["refused before writing", "failing while writing"])
@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_on_a_full_disk(tmp_path, monkeypatch, name, checked_first):
    if not checked_first:  # the write itself meets the full disk
        for module in (writing, vectors):
            monkeypatch.setattr(module, "check_free_space", lambda *args, **kwargs: None)
    with small_disk(tmp_path / "disk", 128) as disk:
        target = disk / name
        target.write_bytes(b"before")
        fill(disk)
        with pytest.raises(OutputError) as raised:
            WRITERS[name](target)
        assert f"'{target}'" in str(raised.value) and FREE_DISK_SPACE in str(raised.value)
        assert target.read_bytes() == b"before"
        assert sorted(os.listdir(disk)) == sorted(["filler", name])


def test_the_probability_writer_names_the_disk_when_its_strips_no_longer_fit(tmp_path):
    with small_disk(tmp_path / "disk", 256) as disk:
        fill(disk, leave_bytes=96 << 10)  # room for the file's start, not for its strips
        with pytest.raises(OutputError, match="no space left on the disk"):
            _probabilities(disk / "probabilities.tif")
        assert os.listdir(disk) == ["filler"]
