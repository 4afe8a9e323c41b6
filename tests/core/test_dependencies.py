"""The dependency installer: platform paths, build choice, pip commands, a real offline install, cancel, and the
classical method with torch unimportable."""

import errno
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from sar_coastline.core.errors import Cancelled, OutputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.io import writing
from sar_coastline.setup import dependencies as deps


def test_runtime_requirements_stop_at_the_development_marker_and_each_has_a_component():
    names = {requirement.name for requirement in deps.read_requirements()}
    assert {"torch", "segmentation-models-pytorch", "scikit-image", "shapely"} <= names
    assert not names & {"pytest", "pytest-qgis", "ruff"}
    unassigned = names - set(deps.CLASSICAL) - set(deps.MODELS) - set(deps.SERVER_ONLY) - set(deps.SCENE_ACCESS)
    assert not unassigned, f"requirements.txt has packages no component installs: {unassigned}"


def test_dependency_folder_is_per_python_version_in_the_profile(tmp_path):
    profile = tmp_path / "profiles" / "default"
    assert deps.deps_folder(profile, (3, 12), environ={}) == profile / "python" / "sar_coastline_deps" / "py312"
    assert deps.deps_folder(profile, (3, 12), environ={deps.DEPS_ENV: "/srv/deps"}) == Path("/srv/deps")


def test_python_executable_is_found_beside_qgis_on_each_platform():
    def pick(system, executable, prefix, present):
        return deps.python_executable(system, executable, prefix, (3, 12), exists=lambda path: path in present,
                                      same=lambda path: True)

    osgeo4w = "C:\\OSGeo4W\\apps\\Python312"
    assert pick("Windows", "C:\\OSGeo4W\\bin\\qgis-bin.exe", osgeo4w, {osgeo4w + "\\python.exe"}) \
        == osgeo4w + "\\python.exe"
    assert pick("Windows", "C:\\QGIS\\bin\\qgis-bin.exe", osgeo4w, {osgeo4w + "\\python3.exe"}) \
        == osgeo4w + "\\python3.exe"
    app = "/Applications/QGIS.app/Contents/MacOS"
    assert pick("Darwin", app + "/QGIS", "/Applications/QGIS.app/Contents/Frameworks",
                {app + "/bin/python3"}) == app + "/bin/python3"
    # Linux: QGIS's prefix first, even when sys.executable is a pyenv shim that happens to be first on PATH
    shim = "/root/.pyenv/shims/python3"
    assert pick("Linux", shim, "/usr", {shim, "/usr/bin/python3.12"}) == "/usr/bin/python3.12"
    with pytest.raises(deps.DependencyError, match="Cannot find QGIS's Python"):
        pick("Windows", "C:\\QGIS\\bin\\qgis-bin.exe", osgeo4w, set())


def test_a_candidate_must_be_the_running_interpreter():
    assert deps.same_interpreter(sys.executable, sys.exec_prefix, sys.version_info)
    assert not deps.same_interpreter(sys.executable, "/nonexistent/prefix", sys.version_info)
    assert not deps.same_interpreter("/nonexistent/python3", sys.exec_prefix, sys.version_info)


def test_nvidia_smi_is_looked_for_where_each_platform_puts_it():
    assert deps.find_nvidia_smi("Darwin", which=lambda name: "/usr/bin/nvidia-smi") is None
    assert deps.find_nvidia_smi("Linux", which=lambda name: "/usr/bin/nvidia-smi") == "/usr/bin/nvidia-smi"
    assert deps.find_nvidia_smi("Linux", which=lambda name: None) is None
    system32 = "D:\\Win\\System32\\nvidia-smi.exe"
    assert deps.find_nvidia_smi("Windows", which=lambda name: None, environ={"SystemRoot": "D:\\Win"},
                                exists=lambda path: path == system32) == system32


def test_build_follows_the_driver_unless_the_user_chooses():
    gpus = deps.parse_nvidia_smi("NVIDIA H200, 580.95.05, 143771\nNVIDIA GeForce GTX 1080, 470.1, 8192\n")
    assert gpus[0] == deps.Gpu("NVIDIA H200", "580.95.05", 143771)
    assert deps.choose_build("Linux", gpus)[0] == "cuda"
    build, reason = deps.choose_build("Windows", [deps.Gpu("GTX 1080", "470.1", 8192)])
    assert build == "cpu" and "older than 580" in reason
    assert deps.choose_build("Linux", [])[0] == "cpu"
    assert deps.choose_build("Linux", [], "cuda")[0] == "cuda"
    assert deps.choose_build("Windows", gpus, "cpu")[0] == "cpu"
    with pytest.raises(deps.DependencyError, match="macOS"):
        deps.choose_build("Darwin", [], "cuda")
    assert deps.parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the driver") == []


def plan_for(system, build, wheelhouse=None, component="models"):
    shipped = {"numpy": "1.24.2", "scipy": "1.10.1", "pillow": "9.4.0"}
    return deps.make_plan(component, build, wheelhouse, "/deps", "python", system, [], shipped)


def test_plans_pick_the_index_and_the_torch_build_per_platform(tmp_path):
    linux_cpu = plan_for("Linux", "cpu")
    assert "torch==2.14.1+cpu" in linux_cpu.requests and "torchvision==0.29.1+cpu" in linux_cpu.requests
    assert linux_cpu.index_args == ("--index-url", f"{deps.TORCH_INDEX}/cpu", "--extra-index-url", deps.PYPI)
    windows_cuda = plan_for("Windows", "cuda")
    assert f"torch==2.14.1+{deps.WINDOWS_CUDA_TAG}" in windows_cuda.requests
    assert windows_cuda.index_args[1] == f"{deps.TORCH_INDEX}/{deps.WINDOWS_CUDA_TAG}"
    for plain in (plan_for("Linux", "cuda"), plan_for("Darwin", "cpu")):
        assert "torch==2.14.1" in plain.requests and plain.index_args == ()
    offline = plan_for("Windows", "cuda", wheelhouse=str(tmp_path))
    assert offline.index_args == ("--no-index", "--find-links", str(tmp_path)) and "torch==2.14.1" in offline.requests
    # what QGIS ships is held by constraints and never requested; server-only packages are not installed
    assert "numpy==1.24.2" in linux_cpu.constraints and not any(r.startswith("numpy") for r in linux_cpu.requests)
    assert not any(r.startswith(("dask", "distributed", "pytest")) for r in linux_cpu.requests)
    classical = plan_for("Linux", "cpu", component="classical")
    assert not any(r.startswith("torch") for r in classical.requests)
    assert set(classical.modules) == {"numpy", "scipy", "skimage", "shapely"}
    with pytest.raises(deps.DependencyError, match="does not exist"):
        plan_for("Linux", "cpu", wheelhouse=str(tmp_path / "missing"))


@pytest.mark.parametrize("output, advice", [
    ("WARNING: Retrying ... NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure "
     "in name resolution\nERROR: No matching distribution found for torch==2.14.1", "No network"),
    ("ERROR: Could not install: ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 407 Proxy "
     "Authentication Required'))", "proxy"),
    ("ERROR: Could not fetch URL: There was a problem confirming the ssl certificate: SSLError(SSLCertVerificationError"
     "(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))", "certificate"),
    ("/usr/bin/python3: No module named pip", "ensurepip"),
    ("ERROR: Could not find a version that satisfies the requirement torch==2.14.1\n"
     "ERROR: No matching distribution found for torch==2.14.1", "wheelhouse"),
])
def test_pip_failures_are_explained(output, advice):
    message = deps.explain_pip_failure(output.splitlines(), "python3.11")
    assert advice in message and "pip said" in message


def write_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel of one module `name` holding VERSION (no build tools needed)."""
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VERSION = '{version}'\n",
             f"{info}/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
                                 + "".join(f"Requires-Dist: {requirement}\n" for requirement in requires),
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def tiny_plan(target: Path, wheelhouse: Path, request: str) -> deps.InstallPlan:
    return deps.InstallPlan(sys.executable, target, (request,), (), ("--no-index", "--find-links", str(wheelhouse)),
                            "cpu", "test", ("sarc_tiny",))


def test_offline_install_keeps_what_python_has_upgrades_and_is_idempotent(tmp_path):
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    write_wheel(wheelhouse, "sarc_tiny", "1.0", requires=("numpy",))
    write_wheel(wheelhouse, "sarc_tiny", "1.1", requires=("numpy",))
    target = tmp_path / "deps" / "py3"
    progress = []
    installed = deps.install(tiny_plan(target, wheelhouse, "sarc-tiny==1.0"), RunHooks(progress=progress.append))
    assert installed == ["sarc_tiny==1.0"]
    assert (target / "sarc_tiny" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert not list(target.glob("numpy*")), "numpy is importable already: it must not be installed again"
    assert progress[-1] == 100 and progress == sorted(progress)
    assert deps.install(tiny_plan(target, wheelhouse, "sarc-tiny==1.0")) == []
    assert deps.install(tiny_plan(target, wheelhouse, "sarc-tiny==1.1")) == ["sarc_tiny==1.1"]
    assert [path.name for path in target.glob("sarc_tiny-*.dist-info")] == ["sarc_tiny-1.1.dist-info"]
    assert (target / "sarc_tiny" / "__init__.py").read_text() == "VERSION = '1.1'\n"
    assert sorted(path.name for path in target.parent.iterdir()) == ["py3"], "a staging folder was left behind"


def test_a_failed_install_leaves_the_folder_as_it_was(tmp_path):
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    target = tmp_path / "deps" / "py3"
    with pytest.raises(deps.DependencyError, match="wheelhouse"):
        deps.install(tiny_plan(target, wheelhouse, "sarc-tiny==2.0"))
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_disk_without_room_for_torch_stops_before_pip_and_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(deps, "resolve", lambda plan, hooks, workdir: ["torch==2.14.1+cpu"])
    monkeypatch.setattr(deps, "run_pip", lambda *args, **kwargs: pytest.fail("pip must not run"))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(writing.shutil, "disk_usage", lambda path: usage(1 << 40, 1 << 40, 300 << 20))
    target = tmp_path / "deps" / "py3"
    with pytest.raises(OutputError, match=f"the packages into '{target}': it needs about 1.0 GB and the disk .* has "
                                          "300.0 MB free. Free disk space"):
        deps.install(tiny_plan(target, tmp_path, "torch"))
    assert list(target.parent.iterdir()) == []


def test_a_dependency_folder_on_a_read_only_drive_is_said_plainly(tmp_path, monkeypatch):
    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    target = tmp_path / "deps" / "py3"
    with pytest.raises(OutputError, match=f"the dependency folder '{target.parent}': .* read-only drive"):
        deps.install(tiny_plan(target, tmp_path, "sarc-tiny"))


def test_cancel_kills_pip_promptly():
    started = time.monotonic()
    lines = []
    command = [sys.executable, "-c", "import time; print('Collecting torch', flush=True); time.sleep(60)"]
    hooks = RunHooks(cancel=lambda: bool(lines), log=lines.append)
    with pytest.raises(Cancelled):
        deps.run_pip(command, hooks, dict(os.environ))
    assert lines == ["Collecting torch"] and time.monotonic() - started < 10


BLOCK_TORCH = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {"torch", "torchvision", "timm", "segmentation_models_pytorch", "safetensors"}
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked for this test")
    sys.meta_path.insert(0, Blocker())
""")


def test_classical_method_and_plugin_modules_work_without_torch(tmp_path):
    script = BLOCK_TORCH + textwrap.dedent(f"""
        import importlib.util
        importlib.util.find_spec = lambda name, *a, _real=importlib.util.find_spec: (
            None if name.split(".")[0] in BLOCKED else _real(name, *a))
        from sar_coastline.setup import dependencies
        assert "torch" in dependencies.missing_modules("models")
        from sar_coastline.setup.device_check import device_report
        assert device_report()["torch"] is None
        from sar_coastline.core.pipeline.extract import ExtractConfig, extract
        from sar_coastline.synthetic.scenes import generate_scene, write_scene
        paths = write_scene(generate_scene(256, 256, seed=5, style="rocky"), r"{tmp_path}", "scene")
        result = extract(str(paths.image), ExtractConfig(method="classical"))
        import sar_coastline.ui.provider, sar_coastline.ui.extract_algorithm, sar_coastline.ui.train_algorithm
        import sar_coastline.ui.check_device_algorithm, sar_coastline.ui.install_dependencies_algorithm
        assert not BLOCKED & set(sys.modules), BLOCKED & set(sys.modules)
        print("LINES", len(result.lines), repr(sum(line.length_m for line in result.lines)))
    """)
    package_parent = str(Path(deps.__file__).parents[2])  # .pkg, where the checkout is `sar_coastline`
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                               env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": package_parent})
    assert completed.returncode == 0, completed.stderr[-3000:]
    count, length = completed.stdout.split("LINES")[-1].split()
    # The same lines as with torch importable (this process): the classical method does not depend on it.
    from sar_coastline.core.pipeline.extract import ExtractConfig, extract

    expected = extract(str(tmp_path / "scene.tif"), ExtractConfig(method="classical")).lines
    assert int(count) == len(expected) > 0
    assert float(length) == pytest.approx(sum(line.length_m for line in expected), rel=1e-9)
