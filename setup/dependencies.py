"""Install the plugin's Python dependencies into QGIS's own Python, in a plugin-local folder (no QGIS imports).

The folder is `<QGIS profile>/python/sar_coastline_deps/py<major><minor>`: outside the plugin folder, so a
plugin update keeps it, and one per Python version, so a QGIS upgrade to a new Python starts clean. The plugin
puts it first on sys.path at load.

Two pip runs, both with QGIS's Python:
1. `pip install --dry-run --report` with the folder on PYTHONPATH resolves the pinned requirements against what
   QGIS already has, with constraints that hold numpy, scipy, GDAL ... at the versions QGIS ships;
2. `pip install --target <staging> --no-deps` installs exactly what step 1 chose, then the staging folder is
   merged into the dependency folder. (`--target` alone treats the environment as empty and would put a second
   numpy beside QGIS's; resolving first keeps QGIS's own.)
Versions come from the plugin's requirements.txt, the one place they are pinned.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import Cancelled, CoastlineError
from ..core.hooks import RunHooks, as_hooks
from ..core.io.writing import check_free_space, create_folder, output_error

REQUIREMENTS_FILE = Path(__file__).resolve().parent.parent / "requirements.txt"
DEV_MARKER = "# development only"  # requirements.txt: lines from this one on are never installed into QGIS
DEPS_FOLDER_NAME = "sar_coastline_deps"
DEPS_ENV = "SAR_COASTLINE_DEPS"  # overrides the folder (tests, shared installs)

# distribution -> module, per component; every runtime requirement belongs to one (a test checks it)
CLASSICAL = {"numpy": "numpy", "scipy": "scipy", "scikit-image": "skimage", "shapely": "shapely"}
MODELS = {"torch": "torch", "torchvision": "torchvision", "segmentation-models-pytorch": "segmentation_models_pytorch",
          "timm": "timm", "safetensors": "safetensors"}
SERVER_ONLY = ("dask", "distributed")  # batch runs on servers (core/pipeline/batch.py): not installed into QGIS
# Only Find and Download SAR scenes need it (they say so when it is missing): installed with everything, never
# asked for when the plugin loads.
SCENE_ACCESS = {"asf-search": "asf_search"}
COMPONENTS = ("classical", "models")  # "models" installs the classical packages too
BUILDS = ("auto", "cpu", "cuda")
# Compiled packages QGIS ships and links against: kept at QGIS's version (a constraint), never installed again.
# (shapely is not among them: the plugin needs shapely 2, which older QGIS builds do not ship.)
SHIPPED_WITH_QGIS = ("numpy", "scipy", "gdal", "pyproj", "pandas", "matplotlib", "pillow", "h5py", "netcdf4",
                     "psycopg2", "lxml", "pyqt5")

PYPI = "https://pypi.org/simple"
TORCH_INDEX = "https://download.pytorch.org/whl"
WINDOWS_CUDA_TAG = "cu130"  # torch 2.14's CUDA 13 build; Linux gets the same CUDA from PyPI's default wheel
MIN_CUDA_DRIVER = 580  # CUDA 13 runs on the r580 driver or newer
LOCAL_LABELLED = ("torch", "torchvision")  # packages whose CPU/CUDA builds differ by a local version label
# Free space the folder's disk must have before pip runs: at least what torch's CPU build takes once installed
# (the CUDA build takes 3 to 5 GB); pip's own "No space left" message covers the rest.
TORCH_MIN_BYTES = 1 << 30
OTHERS_MIN_BYTES = 100 << 20


class DependencyError(CoastlineError):
    """The dependencies cannot be installed as asked; the message says what to do."""


@dataclass(frozen=True)
class Requirement:
    name: str  # normalized (lower case, dashes)
    spec: str  # e.g. "==2.14.1" or "<2"
    marker: str = ""  # e.g. 'python_version < "3.13"'; pip evaluates it for QGIS's Python

    def pinned_version(self) -> str | None:
        match = re.fullmatch(r"==\s*([^,;\s]+)", self.spec)
        return match.group(1) if match else None


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str
    memory_mib: int

    def driver_major(self) -> int:
        match = re.match(r"(\d+)", self.driver)
        return int(match.group(1)) if match else 0


@dataclass(frozen=True)
class InstallPlan:
    python: str
    target: Path
    requests: tuple[str, ...]  # requirement strings given to pip
    constraints: tuple[str, ...]  # name==version of what QGIS ships
    index_args: tuple[str, ...]
    build: str  # "cpu" or "cuda"
    reason: str  # why that build, for the log
    modules: tuple[str, ...]  # what must import afterwards


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: str | os.PathLike = REQUIREMENTS_FILE) -> list[Requirement]:
    """The runtime requirements: every line of requirements.txt above the development-only marker."""
    found = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.lower().startswith(DEV_MARKER):
            break
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _, marker = line.partition(";")
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", requirement.strip())
        if match is None:
            raise DependencyError(f"Cannot read the requirement '{line}' in {path}.")
        found.append(Requirement(normalize(match.group(1)), match.group(2).replace(" ", ""), marker.strip()))
    return found


def component_modules(component: str) -> dict[str, str]:
    """distribution -> module of what a component needs."""
    if component not in COMPONENTS:
        raise DependencyError(f"Unknown component '{component}'. Choose one of: {', '.join(COMPONENTS)}.")
    return dict(CLASSICAL) if component == "classical" else {**CLASSICAL, **MODELS, **SCENE_ACCESS}


def missing_modules(component: str, find_spec: Callable = importlib.util.find_spec) -> list[str]:
    """Modules of a component that do not import (checked without importing them: torch takes seconds); the
    optional scene access is not counted."""
    return [module for distribution, module in component_modules(component).items()
            if distribution not in SCENE_ACCESS and find_spec(module) is None]


def missing_by_component(modules: Sequence[str]) -> tuple[list[str], list[str]]:
    """The distributions behind missing modules, split into what the classical method needs (without it the
    provider loads only Setup) and what only the model methods need: what the first-run dialog names."""
    distributions = {module: distribution for distribution, module in {**CLASSICAL, **MODELS}.items()}
    classical = [distributions[module] for module in modules if module in CLASSICAL.values()]
    models = [distributions.get(module, module) for module in modules if module not in CLASSICAL.values()]
    return classical, models


def add_to_path(folder: str | os.PathLike) -> None:
    """Put the dependency folder first on sys.path (before QGIS's site-packages: torch needs a newer sympy than
    some systems ship), and forget that it was missing so packages installed into it import at once."""
    folder = str(folder)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    refresh_import_path(folder)


def refresh_import_path(folder: str | os.PathLike) -> None:
    sys.path_importer_cache.pop(str(folder), None)
    importlib.invalidate_caches()


def deps_folder(settings_dir: str | os.PathLike, version_info: Sequence[int] = sys.version_info,
                environ: dict | None = None) -> Path:
    """`<QGIS settings dir>/python/sar_coastline_deps/py311`, or the folder named by SAR_COASTLINE_DEPS."""
    environ = os.environ if environ is None else environ
    if environ.get(DEPS_ENV):
        return Path(environ[DEPS_ENV])
    return Path(settings_dir) / "python" / DEPS_FOLDER_NAME / f"py{version_info[0]}{version_info[1]}"


def python_executable(system: str, executable: str, exec_prefix: str, version_info: Sequence[int] = sys.version_info,
                      exists: Callable[[str], bool] = os.path.isfile,
                      same: Callable[[str], bool] | None = None) -> str:
    """The Python interpreter behind QGIS. Inside QGIS on Windows and macOS sys.executable is QGIS itself
    (qgis-bin.exe, QGIS.app/Contents/MacOS/QGIS), and on Linux it can be whatever `python3` is first on PATH:
    the interpreter next to QGIS's own prefix comes first, and each candidate must be the running Python."""
    same = same or (lambda path: same_interpreter(path, exec_prefix, version_info))
    names = (f"python{version_info[0]}.{version_info[1]}", "python3")
    prefix_bin = [os.path.join(exec_prefix, "bin", name) for name in names]
    if system == "Windows":
        candidates = [f"{exec_prefix}\\python.exe", f"{exec_prefix}\\python3.exe"]  # OSGeo4W: apps\Python3xx
    elif system == "Darwin":  # QGIS.app/Contents/MacOS/QGIS -> QGIS.app/Contents/MacOS/bin/python3
        candidates = [os.path.join(os.path.dirname(executable), "bin", name) for name in names] + prefix_bin
    else:
        candidates = prefix_bin
    if re.fullmatch(r"python(3(\.\d+)?)?(\.exe)?", re.split(r"[\\/]", executable)[-1].lower()):
        candidates.append(executable)
    for candidate in candidates:
        if exists(candidate) and same(candidate):
            return candidate
    raise DependencyError(f"Cannot find QGIS's Python interpreter (looked for {', '.join(candidates)}). Install the "
                          "packages by hand with that Python: `python -m pip install --target <folder> ...` (README).")


def same_interpreter(path: str, exec_prefix: str, version_info: Sequence[int]) -> bool:
    """Whether `path` runs the same Python (version and prefix) as QGIS."""
    code = "import sys; print(sys.exec_prefix); print(*sys.version_info[:2])"
    try:
        result = subprocess.run([path, "-c", code], capture_output=True, text=True, timeout=60, **_no_window())
    except (OSError, subprocess.SubprocessError):
        return False
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 2:
        return False
    same_prefix = os.path.normcase(os.path.realpath(lines[0])) == os.path.normcase(os.path.realpath(exec_prefix))
    return same_prefix and lines[1].split() == [str(part) for part in version_info[:2]]


def find_nvidia_smi(system: str, which: Callable[[str], str | None] = shutil.which, environ: dict | None = None,
                    exists: Callable[[str], bool] = os.path.isfile) -> str | None:
    """nvidia-smi, if an NVIDIA driver is installed (never on macOS: no CUDA there)."""
    if system == "Darwin":
        return None
    found = which("nvidia-smi")
    if found or system != "Windows":
        return found
    environ = os.environ if environ is None else environ
    # The driver installs it in System32; older drivers in Program Files\NVIDIA Corporation\NVSMI (not on PATH).
    for candidate in (environ.get("SystemRoot", "C:\\Windows") + "\\System32\\nvidia-smi.exe",
                      environ.get("ProgramFiles", "C:\\Program Files") + "\\NVIDIA Corporation\\NVSMI\\nvidia-smi.exe"):
        if exists(candidate):
            return candidate
    return None


NVIDIA_SMI_QUERY = ("--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits")


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits`."""
    gpus = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) == 3 and parts[2].isdigit():
            gpus.append(Gpu(parts[0], parts[1], int(parts[2])))
    return gpus


def probe_gpus(system: str, run: Callable = subprocess.run) -> list[Gpu]:
    """The NVIDIA GPUs the driver reports; none when there is no driver or nvidia-smi fails."""
    smi = find_nvidia_smi(system)
    if smi is None:
        return []
    try:
        result = run([smi, *NVIDIA_SMI_QUERY], capture_output=True, text=True, timeout=15, **_no_window())
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(result.stdout) if result.returncode == 0 else []


def choose_build(system: str, gpus: Sequence[Gpu], override: str = "auto") -> tuple[str, str]:
    """("cpu" or "cuda", why) from the driver probe, unless the user chose."""
    if override not in BUILDS:
        raise DependencyError(f"Unknown torch build '{override}'. Choose one of: {', '.join(BUILDS)}.")
    if override == "cuda" and system == "Darwin":
        raise DependencyError("There is no CUDA build of torch for macOS; choose the CPU build (it uses Apple's GPU "
                              "through MPS where torch supports it).")
    if override != "auto":
        return override, f"the {override.upper()} build, as chosen"
    if not gpus:
        return "cpu", "the CPU build: no NVIDIA driver found (nvidia-smi)"
    best = max(gpus, key=lambda gpu: gpu.memory_mib)
    if best.driver_major() < MIN_CUDA_DRIVER:
        return "cpu", (f"the CPU build: the NVIDIA driver {best.driver} is older than {MIN_CUDA_DRIVER}, which the "
                       "CUDA 13 build of torch needs (update the driver, then install again with the CUDA build)")
    return "cuda", f"the CUDA build: {best.name}, {best.memory_mib / 1024:.0f} GiB, driver {best.driver}"


def index_args(system: str, build: str, wheelhouse: str | None) -> tuple[tuple[str, ...], str | None]:
    """pip's index options and the local version label torch and torchvision need (None: no label)."""
    if wheelhouse:
        return ("--no-index", "--find-links", str(wheelhouse)), None
    if system == "Darwin" or (system == "Linux" and build == "cuda"):
        return (), None  # PyPI's default wheels: CPU/MPS on macOS, CUDA 13 on Linux; the user's pip config applies
    tag = "cpu" if build == "cpu" else WINDOWS_CUDA_TAG
    return ("--index-url", f"{TORCH_INDEX}/{tag}", "--extra-index-url", PYPI), tag


def installed_versions(paths: Sequence[str]) -> dict[str, str]:
    """normalized distribution name -> version, for the distributions found on these paths."""
    import importlib.metadata

    found = {}
    for dist in importlib.metadata.distributions(path=list(paths)):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def make_plan(component: str, build: str, wheelhouse: str | None, target: str | os.PathLike, python: str,
              system: str, gpus: Sequence[Gpu], shipped: dict[str, str],
              requirements: Sequence[Requirement] | None = None) -> InstallPlan:
    """What to ask pip for. `shipped`: versions QGIS's Python already has (outside the dependency folder)."""
    wanted = component_modules(component)
    requirements = read_requirements() if requirements is None else requirements
    build, reason = choose_build(system, gpus, build)
    if wheelhouse and not Path(wheelhouse).is_dir():
        raise DependencyError(f"The wheelhouse folder '{wheelhouse}' does not exist. Give a folder of .whl files "
                              "(made with `pip download`, see README).")
    arguments, label = index_args(system, build, wheelhouse)
    requests = []
    for requirement in requirements:
        if requirement.name not in wanted:
            continue
        if requirement.name in SHIPPED_WITH_QGIS and requirement.name in shipped:
            continue  # QGIS's own copy serves; the constraint keeps it
        spec = requirement.spec
        if label and requirement.name in LOCAL_LABELLED and requirement.pinned_version():
            spec = f"=={requirement.pinned_version()}+{label}"
        requests.append(requirement.name + spec + (f"; {requirement.marker}" if requirement.marker else ""))
    constraints = tuple(f"{name}=={shipped[name]}" for name in SHIPPED_WITH_QGIS if name in shipped)
    return InstallPlan(python, Path(target), tuple(requests), constraints, arguments, build, reason,
                       tuple(wanted.values()))


# pip output -> what the user should do; the first pattern found wins
FAILURES = (
    (r"No module named pip", "QGIS's Python has no pip. On Debian/Ubuntu: `sudo apt install python3-pip`; elsewhere: "
                            "`<QGIS python> -m ensurepip`. Then install again."),
    (r"ProxyError|Tunnel connection failed|407 Proxy|Cannot connect to proxy",
     "The proxy refused the connection. Set HTTPS_PROXY (e.g. http://user:password@proxy:8080) in the environment "
     "QGIS starts with, or `pip config set global.proxy ...`, or install from a wheelhouse folder (README)."),
    (r"SSLError|CERTIFICATE_VERIFY_FAILED|certificate verify failed|SSL: ",
     "The secure connection failed (a firewall or proxy that re-signs HTTPS?). Point pip at your organisation's "
     "certificate (`pip config set global.cert <file.pem>`, or PIP_CERT), or install from a wheelhouse folder."),
    (r"Temporary failure in name resolution|Name or service not known|getaddrinfo failed|Failed to establish a new "
     r"connection|Network is unreachable|No route to host|Read timed out|ConnectTimeoutError|nodename nor servname",
     "No network: pip could not reach the package index. Connect to the internet, or download the wheels on another "
     "machine (`pip download`, README) and give that folder as the wheelhouse."),
    (r"No space left on device", "The disk is full. Free some space (torch needs about 2 to 5 GB) and install again."),
    (r"Permission denied|\[Errno 13\]|Access is denied",
     "The dependency folder is not writable. Set SAR_COASTLINE_DEPS to a folder you can write, or fix its rights."),
    (r"ResolutionImpossible|conflicting dependencies|Cannot install .* because these package versions",
     "The pinned versions conflict with the packages QGIS ships (kept at QGIS's versions). The lines above name "
     "the conflict; report it with them."),
    (r"No matching distribution found|Could not find a version that satisfies",
     "No wheel of a pinned package for this Python and platform. With a wheelhouse: it lacks the file named above "
     "(download it for this Python, {python}); online: this platform has no such build."),
)


def explain_pip_failure(lines: Sequence[str], python: str = "") -> str:
    text = "\n".join(lines)
    details = [line for line in lines if re.search(r"ERROR|error:", line)][-3:] or list(lines)[-3:]
    for pattern, advice in FAILURES:
        if re.search(pattern, text):
            return advice.format(python=python) + " pip said: " + " | ".join(details)
    return "pip failed: " + " | ".join(list(lines)[-12:])


def _no_window() -> dict:
    """Windows: run console programs without flashing a console window."""
    return {"creationflags": subprocess.CREATE_NO_WINDOW} if sys.platform == "win32" else {}


def run_pip(command: Sequence[str], hooks: RunHooks, env: dict, on_line: Callable[[str], None] | None = None,
            python: str = "") -> list[str]:
    """Run pip, streaming its output to the log; cancel kills it. Raises DependencyError on failure."""
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=env, errors="replace", **_no_window())
    except OSError as error:
        raise DependencyError(f"Cannot start '{command[0]}': {error}.") from None
    lines: list[str] = []
    output: queue.Queue = queue.Queue()

    def read():
        with process.stdout:
            for line in process.stdout:
                output.put(line.rstrip())
        output.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        if hooks.cancel():
            process.kill()
            process.wait()
            raise Cancelled("Installation cancelled; the dependency folder was left as it was.")
        try:
            line = output.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.strip():
            lines.append(line)
            hooks.log(line)
            if on_line:
                on_line(line)
    if process.wait() != 0:
        raise DependencyError(explain_pip_failure(lines, python))
    return lines


def pip_base(plan: InstallPlan) -> list[str]:
    return [plan.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--only-binary", ":all:", *plan.index_args]


def pip_environment(plan: InstallPlan, environ: dict | None = None) -> dict:
    """The environment pip sees: the dependency folder first on the path, as the plugin puts it."""
    env = dict(os.environ if environ is None else environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plan.target), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def resolve(plan: InstallPlan, hooks: RunHooks, workdir: Path) -> list[str]:
    """`name==version` of what pip would install into the folder, given what QGIS's Python already has."""
    constraints = workdir / "constraints.txt"
    try:
        constraints.write_text("".join(line + "\n" for line in plan.constraints), encoding="utf-8")
    except OSError as error:
        raise output_error(constraints, error, "pip's constraints") from None
    report = workdir / "report.json"
    command = [*pip_base(plan), "--dry-run", "--report", str(report), "-c", str(constraints), *plan.requests]
    run_pip(command, hooks, pip_environment(plan), python=plan.python)
    try:
        chosen = json.loads(report.read_text(encoding="utf-8"))["install"]
    except (OSError, ValueError, KeyError) as error:
        raise DependencyError(f"pip wrote no usable report ({error}); QGIS's pip may be older than 22.2: upgrade it "
                              f"with `{plan.python} -m pip install --upgrade pip`.") from None
    return [f"{item['metadata']['name']}=={item['metadata']['version']}" for item in chosen]


def _distribution_dirs(folder: Path, name: str) -> list[Path]:
    return [path for path in folder.glob("*.dist-info")
            if normalize(path.name[: -len(".dist-info")].rsplit("-", 1)[0]) == normalize(name)]


def _remove_distribution(folder: Path, name: str) -> None:
    """Remove an earlier version of a distribution from the folder, by its RECORD."""
    for info in _distribution_dirs(folder, name):
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                relative = line.split(",", 1)[0]
                path = (folder / relative).resolve()
                if relative and path.is_file() and folder.resolve() in path.parents:
                    path.unlink()
        shutil.rmtree(info, ignore_errors=True)


def merge(staging: Path, target: Path) -> None:
    """Move what pip installed into the staging folder into the dependency folder, replacing older versions."""
    target.mkdir(parents=True, exist_ok=True)
    for info in staging.glob("*.dist-info"):
        _remove_distribution(target, info.name[: -len(".dist-info")].rsplit("-", 1)[0])
    for entry in staging.iterdir():
        destination = target / entry.name
        if destination.is_dir() and not destination.is_symlink():
            if entry.is_dir():
                merge_dirs(entry, destination)
                continue
            shutil.rmtree(destination)
        elif destination.exists():
            destination.unlink()
        os.replace(entry, destination)


def merge_dirs(source: Path, destination: Path) -> None:
    """Move a folder's contents over another's (two packages can share a namespace folder, or bin/)."""
    for entry in source.iterdir():
        target = destination / entry.name
        if entry.is_dir() and target.is_dir():
            merge_dirs(entry, target)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)


def verify(plan: InstallPlan, hooks: RunHooks) -> None:
    """Import every module in a fresh QGIS Python, as the plugin will (catches broken or mismatched builds)."""
    code = "import " + ", ".join(plan.modules)
    result = subprocess.run([plan.python, "-c", code], capture_output=True, text=True, env=pip_environment(plan),
                            timeout=300, **_no_window())
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise DependencyError(f"Installed, but the packages do not import in QGIS's Python: {last}. Remove the folder "
                              f"{plan.target} and install again; report the message if it stays.")
    hooks.log("Every package imports: " + ", ".join(plan.modules) + ".")


def install(plan: InstallPlan, hooks: RunHooks | None = None) -> list[str]:
    """Install the plan's packages into its folder; returns the `name==version` installed (empty: nothing was
    missing). On failure or cancel the folder is left as it was."""
    hooks = as_hooks(hooks)
    hooks.log(f"Python: {plan.python}; folder: {plan.target}" + (f"; torch: {plan.reason}." if "torch" in plan.modules
                                                                   else "."))
    if plan.constraints:
        hooks.log("Kept at QGIS's versions: " + ", ".join(plan.constraints) + ".")
    create_folder(plan.target.parent, "the dependency folder")
    try:
        staging_folder = tempfile.TemporaryDirectory(prefix=".staging-", dir=plan.target.parent)
    except OSError as error:
        raise output_error(plan.target, error, "the dependency folder") from None
    with staging_folder as work:
        workdir = Path(work)
        hooks.progress(2)
        pins = resolve(plan, hooks.span(2, 15), workdir)
        hooks.check_cancel()
        if not pins:
            hooks.log("Every package is installed already.")
        else:
            hooks.log("To install: " + ", ".join(pins) + ".")
            torch_pinned = any(normalize(pin.split("==")[0]) == "torch" for pin in pins)
            check_free_space(plan.target, TORCH_MIN_BYTES if torch_pinned else OTHERS_MIN_BYTES,
                             "the packages into")
            staging = workdir / "packages"
            seen = [0]

            def step(line: str) -> None:
                if line.startswith(("Collecting", "Processing", "Downloading")) and seen[0] < len(pins):
                    seen[0] += 1
                    hooks.progress(15 + 70 * seen[0] / len(pins))

            run_pip([*pip_base(plan), "--no-deps", "--target", str(staging), *pins], hooks, pip_environment(plan),
                    step, python=plan.python)
            hooks.check_cancel()
            hooks.progress(88)
            try:
                merge(staging, plan.target)
            except OSError as error:
                raise output_error(plan.target, error, "the packages into") from None
    hooks.progress(92)
    verify(plan, hooks)
    hooks.progress(100)
    return pins
