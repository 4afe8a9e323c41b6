"""make package: the zip that installs through Plugins > Manage and Install Plugins > Install from ZIP.

`sar_coastline-<version>.zip` with one top folder `sar_coastline/`, holding only what the plugin runs (the files
git tracks or would track, in the folders below), checked against the QGIS plugin repository's rules: the
metadata fields it requires, a LICENSE, the external dependencies named in `about`, no compiled binaries, at
most 25 MB.
"""

import argparse
import configparser
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "sar_coastline"
RUNTIME_FILES = ("metadata.txt", "LICENSE", "README.md", "requirements.txt")  # requirements: the installer's pins
# plus every .py at the top (the plugin package itself)
RUNTIME_FOLDERS = ("core", "models", "ui", "training", "setup", "synthetic")
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                     "repository", "tracker", "homepage", "hasProcessingProvider")
# The plugin repository wants them named in `about`.
EXTERNAL_DEPENDENCIES = ("torch", "segmentation-models-pytorch", "asf_search")
MAX_BYTES = 25 * 1024 * 1024
BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe", ".pyc", ".pyo", ".o", ".a", ".lib")
BINARY_MAGIC = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")


class PackageError(Exception):
    pass


def read_metadata(root: Path = ROOT) -> dict:
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # keep qgisMinimumVersion's case
    parser.read(root / "metadata.txt", encoding="utf-8")
    metadata = dict(parser["general"]) if parser.has_section("general") else {}
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key, "").strip()]
    if missing:
        raise PackageError(f"metadata.txt lacks {', '.join(missing)} (required by the QGIS plugin repository).")
    unnamed = [name for name in EXTERNAL_DEPENDENCIES if name not in metadata["about"]]
    if unnamed:
        raise PackageError(f"metadata.txt's about does not name the external dependencies {', '.join(unnamed)}.")
    return metadata


def plugin_files(root: Path = ROOT) -> list[str]:
    """Tracked and new (not ignored) files the plugin needs at run time, relative to the root."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    chosen = []
    for name in sorted(set(filter(None, listed))):
        top = name.split("/", 1)[0]
        wanted = (name in RUNTIME_FILES or top in RUNTIME_FOLDERS and "/" in name
                  or "/" not in name and name.endswith(".py"))
        if wanted and "__pycache__" not in name and (root / name).is_file():
            chosen.append(name)
    return chosen


def check_not_binary(root: Path, name: str) -> None:
    with open(root / name, "rb") as handle:
        head = handle.read(4)
    if name.lower().endswith(BINARY_SUFFIXES) or any(head.startswith(magic) for magic in BINARY_MAGIC):
        raise PackageError(f"'{name}' is a compiled binary; the QGIS plugin repository refuses them.")


def build_package(out_dir: Path, root: Path = ROOT) -> Path:
    """Write the zip (whole or not at all) and return its path."""
    metadata = read_metadata(root)
    files = plugin_files(root)
    for required in ("metadata.txt", "LICENSE", "__init__.py"):
        if required not in files:
            raise PackageError(f"{required} is missing from the package; git must track or see it.")
    for name in files:
        check_not_binary(root, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{PLUGIN}-{metadata['version']}.zip"
    handle, partial = tempfile.mkstemp(suffix=".zip.partial", dir=out_dir)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # mkstemp's 0600 would make the zip unreadable to anyone else
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in files:
                archive.write(root / name, f"{PLUGIN}/{name}")
        size = os.path.getsize(partial)
        if size > MAX_BYTES:
            raise PackageError(f"The package is {size / 2**20:.1f} MB; the QGIS plugin repository takes at most "
                               f"{MAX_BYTES / 2**20:.0f} MB.")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zip (default: dist/)")
    args = parser.parse_args()
    try:
        path = build_package(args.out)
    except (PackageError, subprocess.CalledProcessError) as error:
        sys.exit(f"make package failed: {error}")
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"{path} ({os.path.getsize(path) / 2**20:.1f} MB, {count} files)")


if __name__ == "__main__":
    main()
