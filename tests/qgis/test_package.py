"""make package's zip, installed as a user would into an empty QGIS profile, dependencies from a local wheelhouse,
one extraction through qgis_process; the setup algorithms and the first-run offer."""

import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
# What the classical method needs beyond what Debian's QGIS ships (numpy, scipy, pillow, packaging)
CLASSICAL_WHEELS = ("scikit-image", "shapely", "lazy_loader", "imageio", "tifffile", "networkx")


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """`make package`'s command, into a temporary folder: (zip path, what it printed)."""
    out = tmp_path_factory.mktemp("dist")
    completed = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--out", str(out)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return Path(completed.stdout.split(" (")[0]), completed.stdout


def test_package_meets_the_plugin_repository_rules(package):
    path, printed = package
    assert re.fullmatch(r".*/sar_coastline-\d+\.\d+\.\d+\.zip \(\d+\.\d MB, \d+ files\)\n", printed)
    assert path.stat().st_size <= 25 * 2**20
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any file the user makes, not mkstemp's 0600
    for required in ("ui/workflows/shoreline_change_from_scenes.model3", "core/archive/asf.py"):
        assert f"sar_coastline/{required}" in zipfile.ZipFile(path).namelist(), required
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = archive.read("sar_coastline/metadata.txt").decode()
    assert all(name.startswith("sar_coastline/") for name in names)
    for required in ("LICENSE", "metadata.txt", "__init__.py", "plugin.py", "requirements.txt", "setup/dependencies.py",
                     "ui/install_dependencies_algorithm.py", "models/default/ensemble.json"):
        assert f"sar_coastline/{required}" in names, required
    assert any(name.endswith(".safetensors") for name in names), "the bundled model must ship"
    assert not [name for name in names if re.search(r"/(tests|benchmarks|scripts|docs)/|\.(pyc|so|dll|pyd)$", name)]
    for field in ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository",
                  "tracker", "homepage"):
        assert re.search(rf"^{field}=\S", metadata, re.M), field
    about = re.search(r"^about=(.*)$", metadata, re.M).group(1)
    assert "torch" in about and "segmentation-models-pytorch" in about


def wheel_from_installed(name: str, folder: Path) -> Path:
    """Repack an installed distribution as a wheel (its files as RECORD lists them, its own tag): a local wheelhouse
    without a network."""
    dist = importlib.metadata.distribution(name)
    info = Path(dist._path)  # the .dist-info folder
    tag = re.search(r"^Tag: (\S+)", (info / "WHEEL").read_text(), re.M).group(1)
    path = folder / f"{re.sub(r'[-_.]+', '_', dist.metadata['Name']).lower()}-{dist.version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in dist.files:
            if not str(file).startswith("..") and "__pycache__" not in str(file) and (info.parent / file).is_file():
                archive.write(info.parent / file, str(file))
    return path


def qgis_process(profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """qgis_process as a user without the developer venv has it: Debian's Python only."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "SAR_COASTLINE_VENV", "SAR_COASTLINE_DEPS", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(profile))
    return subprocess.run([QGIS_PROCESS, *arguments], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not (Path(QGIS_PROCESS).exists() and Path("/usr/bin/python3").exists()),
                    reason="needs Debian's qgis_process and Python")
def test_zip_installs_into_an_empty_profile_and_extracts_after_an_offline_install(package, tmp_path, scene_paths):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import skimage"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("Debian's Python has scikit-image already: nothing to install")
    profile = tmp_path / "profile"
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(package[0]) as archive:
        archive.extractall(plugins)  # what Install from ZIP does
    assert qgis_process(profile, "plugins", "enable", "sar_coastline").returncode == 0

    listed = qgis_process(profile, "list").stdout
    assert "coastline:installdependencies" in listed and "coastline:checkdevice" in listed
    assert "coastline:extractcoastline" not in listed, "without scikit-image only the setup algorithms load"

    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for name in CLASSICAL_WHEELS:
        wheel_from_installed(name, wheelhouse)
    installed = qgis_process(profile, "run", "coastline:installdependencies", "--COMPONENTS=1",
                             f"--WHEELHOUSE={wheelhouse}")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-2000:]
    folder = profile / "profiles" / "default" / "python" / "sar_coastline_deps" / f"py{sys.version_info[0]}" \
        f"{sys.version_info[1]}"
    assert (folder / "skimage").is_dir() and (folder / "shapely").is_dir()
    assert not list(folder.glob("numpy*")) and not list(folder.glob("scipy*")), "QGIS's numpy and scipy are kept"

    listed = qgis_process(profile, "list").stdout
    assert "coastline:extractcoastline" in listed and "coastline:evaluatecoastline" in listed
    output = tmp_path / "coast.gpkg"
    extracted = qgis_process(profile, "run", "coastline:extractcoastline", f"--INPUT={scene_paths.image}",
                             f"--OUTPUT={output}")
    assert extracted.returncode == 0, extracted.stdout[-3000:] + extracted.stderr[-2000:]
    count = int(re.search(r"LINE_COUNT:\s*(\d+)", extracted.stdout).group(1))
    assert count > 0 and output.is_file()


def test_without_scikit_image_the_provider_offers_only_the_setup_algorithms(qgis_app, monkeypatch):
    from sar_coastline.ui import provider as provider_module

    monkeypatch.setattr(provider_module, "missing_modules", lambda component: ["skimage"])
    provider = provider_module.CoastlineProvider()
    provider.refreshAlgorithms()
    assert {algorithm.name() for algorithm in provider.algorithms()} == {"installdependencies", "checkdevice"}
    assert provider.missing == ["skimage"]


def test_setup_algorithms_have_help_and_check_device_times_the_bundled_model(provider):
    import processing

    for name in ("installdependencies", "checkdevice"):
        algorithm = provider.algorithm(name)
        assert algorithm.shortHelpString()
        assert all(parameter.help() for parameter in algorithm.parameterDefinitions())
    results = processing.run("coastline:checkdevice", {"TIMING": True})
    assert results["TORCH_VERSION"].startswith("2.")
    assert results["CPU_MS"] > 0 and "efficientnet" in results["MODEL"]


def test_install_dependencies_refuses_a_missing_wheelhouse(provider, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="does not exist"):
        processing.run("coastline:installdependencies", {"WHEELHOUSE": str(tmp_path / "none")})


def test_first_run_offer_opens_the_install_dialog_or_stops_asking(qgis_app):
    from qgis.core import QgsSettings

    from sar_coastline.ui import dependencies_dialog as dialog

    QgsSettings().remove(dialog.DONT_ASK_KEY)
    assert dialog.should_offer(["torch"]) and not dialog.should_offer([])

    def click(label):
        return lambda box: next(button for button in box.buttons() if button.text() == label).click()

    opened = []
    assert dialog.offer_install(None, ["torch"], click("Install…"), lambda component: opened.append(component) or
                                "dialog") == "dialog"
    assert opened == ["models"]
    assert dialog.offer_install(None, ["torch"], click("Not now"), opened.clear) is None
    assert opened == ["models"] and dialog.should_offer(["torch"])
    dialog.offer_install(None, ["torch"], click("Don't ask again"))
    assert not dialog.should_offer(["torch"])
    QgsSettings().remove(dialog.DONT_ASK_KEY)



def test_plugin_load_puts_the_dependency_folder_first_on_sys_path(qgis_app, tmp_path, monkeypatch):
    import sar_coastline

    folder = tmp_path / "deps" / "py3"
    monkeypatch.setenv("SAR_COASTLINE_DEPS", str(folder))
    monkeypatch.setenv("SAR_COASTLINE_VENV", str(tmp_path / "no-venv"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    sar_coastline.add_dependency_paths()
    assert sys.path[0] == str(folder)
    (folder / "sarc_probe").mkdir(parents=True)  # installed after the plugin loaded: importable at once
    (folder / "sarc_probe" / "__init__.py").write_text("VALUE = 7\n")
    from sar_coastline.setup.dependencies import refresh_import_path

    refresh_import_path(folder)
    import sarc_probe

    assert sarc_probe.VALUE == 7
    monkeypatch.delitem(sys.modules, "sarc_probe")
