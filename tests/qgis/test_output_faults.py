"""Outputs on a full disk through Processing and qgis_process: a message naming the disk space, a failed run
(non-zero exit), the error printed once, and no corrupt or empty file left (the file that was there is kept)."""

import os
import shutil
import subprocess
from pathlib import Path

import processing
import pytest
from fulldisk import fill, small_disk
from qgis.core import QgsApplication, QgsProcessingException

from sar_coastline.ui import feedback, sinks

QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PROFILE = Path(__file__).resolve().parents[2] / ".qgis-profile"
CHIP = Path(__file__).resolve().parents[1] / "data" / "labrador_s1_chip.tif"
CLASSICAL = 2


def _chip(folder: Path) -> Path:
    """A copy of the real chip: QGIS writes its statistics beside the raster it opens (.aux.xml)."""
    return Path(shutil.copy(CHIP, folder))


def test_qgis_process_extract_on_a_full_disk_prints_the_cause_once_and_leaves_the_old_file(tmp_path):
    assert (PROFILE / "profiles/default/python/plugins/sar_coastline").exists(), "run `make install` first"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(PROFILE)}
    chip = _chip(tmp_path)
    with small_disk(tmp_path / "disk", 64) as disk:
        output = disk / "o.gpkg"
        output.write_bytes(b"before")
        fill(disk)
        completed = subprocess.run([QGIS_PROCESS, "run", "coastline:extractcoastline", f"--INPUT={chip}", "--BAND=2",
                                    f"--METHOD={CLASSICAL}", f"--OUTPUT={output}"],
                                   capture_output=True, text=True, env=environment, timeout=120)
        assert completed.returncode != 0
        errors = [line for line in completed.stderr.splitlines() if "Cannot write" in line]
        assert len(errors) == 1, completed.stderr
        assert errors[0].startswith(f"ERROR:\tCannot write '{output}'") and "Free disk space" in errors[0]
        assert output.read_bytes() == b"before" and sorted(os.listdir(disk)) == ["filler", "o.gpkg"]


def _without_space_checks(monkeypatch):
    """As when another program fills the disk after the checks: QGIS's own writer meets the full disk."""
    for module in (feedback, sinks):
        monkeypatch.setattr(module, "check_free_space", lambda *args, **kwargs: None)


@pytest.mark.parametrize("room_kb", [0, 72], ids=["no room to create the file", "no room to add the layer"])
def test_qgis_writing_the_coastline_on_a_full_disk_fails_plainly_and_leaves_no_file(provider, scene_paths, tmp_path,
                                                                                   monkeypatch, room_kb):
    _without_space_checks(monkeypatch)
    with small_disk(tmp_path / "disk", 256) as disk:
        fill(disk, leave_bytes=room_kb << 10)
        output = disk / "coast.gpkg"
        with pytest.raises(QgsProcessingException,
                           match=f"Cannot write the coastline '{output}': there is no space left on the disk"):
            processing.run("coastline:extractcoastline", {"INPUT": str(scene_paths.image), "METHOD": CLASSICAL,
                                                          "OUTPUT": str(output)})
        assert os.listdir(disk) == ["filler"]
    assert not QgsApplication.messageLog().signalsBlocked()  # only qgis_process's log is silenced


def test_a_commit_failing_as_qgis_closes_the_output_is_caught(provider, scene_paths, tmp_path, monkeypatch):
    """QGIS commits a GeoPackage's features when the sink is deleted and reports no failure there: the run would
    succeed with a broken file. Read back, it fails."""
    _without_space_checks(monkeypatch)
    with small_disk(tmp_path / "disk", 512) as disk:
        fill(disk, leave_bytes=160 << 10)  # room for the empty layer, not for its 3000 points
        output = disk / "points.gpkg"
        truth = f"{scene_paths.truth}|layername=coastline"
        with pytest.raises(QgsProcessingException, match=f"Cannot write the evaluation points '{output}': there is "
                                                         "no space left on the disk"):
            processing.run("coastline:evaluatecoastline", {"PREDICTED": truth, "REFERENCE": truth, "SPACING": 1,
                                                           "OUTPUT_POINTS": str(output)})
        assert os.listdir(disk) == ["filler"]


def test_batch_on_a_disk_full_from_the_start_fails_naming_the_space_and_leaves_no_file(provider, tmp_path):
    with small_disk(tmp_path / "disk", 64) as disk:
        fill(disk)
        output = disk / "b.gpkg"
        with pytest.raises(QgsProcessingException, match=f"Cannot write '{output}': it needs about .* free. Free "
                                                         "disk space"):
            processing.run("coastline:extractcoastlinesbatch", {"LAYERS": [str(_chip(tmp_path))], "BAND": 2,
                                                                "METHOD": CLASSICAL, "OUTPUT": str(output)})
        assert os.listdir(disk) == ["filler"]
