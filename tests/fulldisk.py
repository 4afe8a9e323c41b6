"""A small disk for fault tests: a tmpfs mounted on a folder (as root), filled up, grown to free space. A test
that needs one is skipped where it cannot be mounted."""

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int = 256):
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                                 capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command here to make a small disk")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root only): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, leave_bytes: int = 0) -> None:
    """Fill the disk holding `folder` with one file, `filler`, leaving about `leave_bytes` free."""
    size = shutil.disk_usage(folder).free - leave_bytes
    with contextlib.suppress(OSError), open(folder / "filler", "ab") as handle:
        handle.write(b"\0" * max(0, size))


def resize(folder: Path, size_kb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", str(folder)], check=True)
