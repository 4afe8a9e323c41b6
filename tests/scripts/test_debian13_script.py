"""make test-debian13 (scripts/debian13/test.sh) installs debootstrap itself when it is missing, as `make install`
installs QGIS."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "debian13" / "test.sh"


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(os.geteuid() != 0, reason="the script runs as root only")
@pytest.mark.skipif(shutil.which("debootstrap", path="/usr/bin:/bin") is not None,
                    reason="debootstrap is on the PATH the script gets here")
def test_a_missing_debootstrap_is_installed_with_apt_get(tmp_path):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    calls = tmp_path / "calls.log"
    # apt-get "installs" a debootstrap that records its call and fails, which ends the script before it builds.
    _stub(bin_folder / "apt-get", f'echo "apt-get $*" >> {calls}\n'
                                  f'case "$*" in *install*debootstrap*)\n'
                                  f'  printf \'#!/bin/sh\\necho "debootstrap $*" >> {calls}\\nexit 3\\n\' '
                                  f'> {bin_folder}/debootstrap; chmod +x {bin_folder}/debootstrap;; esac\n')
    environment = {**os.environ, "PATH": f"{bin_folder}:/usr/bin:/bin", "DEBIAN13_CACHE": str(tmp_path / "cache")}
    completed = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=environment, timeout=60)
    lines = calls.read_text().splitlines()
    assert completed.returncode == 3, completed.stderr
    assert "debootstrap is missing" not in completed.stderr
    assert lines[0] == "apt-get update -qq"
    assert lines[1].startswith("apt-get install") and lines[1].endswith(" debootstrap")
    assert lines[2].startswith("debootstrap ") and " trixie " in lines[2]  # then it builds the root file system
