"""Many scenes into one GeoPackage: extract() per scene, run in this process or on dask.distributed.

The scenes run as Dask tasks on a LocalCluster sized to the machine or on a scheduler the user already runs;
each worker loads the models once and keeps them for every scene it gets. Results come back to this process,
the only writer of the GeoPackage (SQLite takes one writer): each scene's lines and its status row are
committed together as the scene completes, so a crash or a cancel loses nothing done, and a rerun skips the
scenes whose status is ok. A failing scene gets its error in the status table and the others go on.
"""

from __future__ import annotations

import datetime
import os
import resource
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..change.dates import date_from_name, parse_date
from ..config import ExtractConfig
from ..errors import Cancelled, CoastlineError, InputError, OutputError
from ..hooks import RunHooks, as_hooks
from ..inference.loading import load_predictor, resolve_models
from ..io.gdal import closing_errors
from ..io.vectors import estimated_size
from ..io.writing import check_free_space, output_error, remove_quietly
from ..methods import registry
from .extract import extract, line_fields, line_values

LINES_LAYER, STATUS_LAYER = "coastline", "status"
OK, ERROR = "ok", "error"
RASTER_EXTENSIONS = (".tif", ".tiff", ".img", ".vrt", ".jp2", ".ntf", ".h5", ".he5", ".nc", ".dim", ".zip")
STATUS_FIELDS = (("scene", "str"), ("source", "str"), ("status", "str"), ("error", "str"), ("seconds", "real"),
                 ("line_count", "int"), ("length", "real"), ("worker", "str"), ("peak_rss_mb", "real"),
                 ("finished", "str"))
CANCEL_POLL_S = 0.5


@dataclass(frozen=True)
class BatchConfig:
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    workers: int | None = None  # None: one per GPU, else a few CPU workers (default_workers); 0: in this process
    scheduler: str | None = None  # address of a running Dask scheduler, e.g. tcp://host:8786
    threads: int | None = None  # torch threads per worker; None: the CPU cores shared out between the workers
    processes: bool = True  # LocalCluster workers as processes (False: threads of this process)


@dataclass
class SceneOutcome:
    """What one scene's run sends back to the writer (plain data: it crosses processes)."""

    source: str
    scene: str
    status: str
    error: str = ""
    seconds: float = 0.0
    crs_wkt: str = ""
    lines: list = field(default_factory=list)  # (coords (N, 2), attributes) pairs
    warnings: list = field(default_factory=list)
    worker: str = ""
    peak_rss_mb: float = 0.0

    @property
    def length(self) -> float:
        return float(sum(attributes.get("length_m") or 0.0 for _coords, attributes in self.lines))


@dataclass
class BatchResult:
    path: str
    done: list[SceneOutcome]
    skipped: list[str]

    @property
    def failed(self) -> list[SceneOutcome]:
        return [outcome for outcome in self.done if outcome.status != OK]


def find_scenes(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Scene sources from files, folders (their raster files and .SAFE products, not recursive) and lists
    (.txt: one path a line, relative to the list's folder; # starts a comment). Order kept, duplicates dropped."""
    found = []
    for item in inputs:
        path = Path(item)
        if path.is_dir() and path.suffix.upper() != ".SAFE":
            found.extend(str(child) for child in sorted(path.iterdir())
                         if child.suffix.lower() in RASTER_EXTENSIONS and child.is_file()
                         or child.suffix.upper() == ".SAFE")
        elif path.suffix.lower() == ".txt":
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise InputError(f"Cannot read the scene list '{path}': {error}.") from None
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    found.append(str(path.parent / line) if not os.path.isabs(line) else line)
        elif path.exists():
            found.append(str(path))
        else:
            raise InputError(f"'{path}' does not exist. Give scene files, folders of scenes or .txt lists of them.")
    unique = list(dict.fromkeys(os.path.abspath(source) for source in found))
    if not unique:
        raise InputError("No scene found in the inputs. Give raster files, folders holding them (.tif, .img, .vrt, "
                         "...) or a .txt list of paths.")
    return unique


def default_workers(needs_models: bool) -> int:
    """One worker per GPU; on CPUs, a few: the classical method is light (one per core, at most 8), a model
    method wants several cores per worker (a quarter of the cores each)."""
    if needs_models:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.device_count()
    cores = os.cpu_count() or 1
    return max(1, min(8, cores)) if not needs_models else max(1, cores // 4)


# The predictor each worker (process, or thread of a threaded cluster) keeps for the scenes it runs.
_PREDICTORS: dict = {}
_PREDICTORS_LOCK = threading.Lock()


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return "local"


def _predictor(config: ExtractConfig, threads: int | None, hooks: RunHooks):
    """This worker's predictor for the config's models, loaded on its first scene; None for model-free methods."""
    method = registry.get(config.method)
    if not (method.uses_models and method.ensemble):
        return None
    members = resolve_models(config.models)
    if not members:
        return None  # extract() falls back to the classical method and warns
    key = (_worker_name(), threading.get_ident(), tuple(str(path) for path, _weight in members), config.inference)
    with _PREDICTORS_LOCK:
        if key not in _PREDICTORS:
            import torch

            if threads:
                torch.set_num_threads(threads)
            if torch.cuda.device_count() > 1:  # one worker per GPU: worker i takes GPU i
                name = key[0]
                torch.cuda.set_device(int(name) % torch.cuda.device_count() if name.isdigit() else 0)
            _PREDICTORS[key] = load_predictor(members, config.inference, hooks)
        return _PREDICTORS[key]


def _cancel_check(event_name: str | None, local_cancel):
    """A cancel callable for a scene's run: the batch's Dask Event (polled at most every CANCEL_POLL_S), or the
    caller's own cancel in this process."""
    if event_name is None:
        return local_cancel or (lambda: False)
    from distributed import Event

    event, last, state = Event(event_name), [0.0], [False]

    def cancelled() -> bool:
        now = time.monotonic()
        if not state[0] and now - last[0] >= CANCEL_POLL_S:
            last[0] = now
            state[0] = event.is_set()
        return state[0]

    return cancelled


def run_scene(source: str, config: ExtractConfig, threads: int | None = None, cancel_event: str | None = None,
              cancel=None) -> SceneOutcome:
    """One scene through extract(), every failure caught into the outcome (the batch goes on). The Dask task."""
    started = time.perf_counter()
    name = Path(source).stem
    hooks = RunHooks(cancel=_cancel_check(cancel_event, cancel))
    outcome = SceneOutcome(source=source, scene=name, status=ERROR, worker=_worker_name())
    try:
        result = extract(source, config, hooks, predictor=_predictor(config, threads, hooks))
        outcome.status, outcome.crs_wkt, outcome.scene = OK, result.scene.crs_wkt, result.scene.name
        date = scene_date(result.scene.acquisition_date, result.scene.name)
        outcome.lines = [(line.coords, {**line.attributes, "date": date}) for line in result.lines]
        outcome.warnings = list(result.warnings)
    except Cancelled:
        raise
    except CoastlineError as error:
        outcome.error = str(error)
    except Exception as error:  # noqa: BLE001 (a bad scene must not stop the batch; its error is recorded)
        outcome.error = f"{type(error).__name__}: {error}"
    outcome.seconds = round(time.perf_counter() - started, 3)
    outcome.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return outcome


def scene_date(metadata_date: str | None, name: str) -> str | None:
    """The `date` field: the raster's metadata date (as ISO), else a date the file name holds (Sentinel-1,
    ALOS-2, 2021-03-04 or 20210304): a time series needs one per scene."""

    try:
        parsed = parse_date(metadata_date)
    except InputError:
        return metadata_date  # kept as the product wrote it
    parsed = parsed or date_from_name(name)
    if parsed is None:
        return None
    return parsed.date().isoformat() if parsed.time() == datetime.time() else parsed.isoformat()


class BatchWriter:
    """The GeoPackage of a batch: a `coastline` line layer (every scene's lines, in the first scene's CRS; other
    scenes are reprojected) and a `status` table, one row per scene. One transaction per scene."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.path.abspath(os.fspath(path))
        if not self.path.lower().endswith(".gpkg"):
            raise OutputError(f"The batch output '{self.path}' must be a GeoPackage (.gpkg).")
        self.dataset = None
        self.transforms: dict[str, object] = {}

    def done_sources(self) -> set[str]:
        """Sources whose status is ok in an existing file: a rerun skips them."""
        if not os.path.exists(self.path):
            return set()
        from osgeo import ogr

        ogr.UseExceptions()
        try:
            dataset = ogr.Open(self.path)
        except RuntimeError as error:
            raise OutputError(f"Cannot read the batch output '{self.path}' to resume it: {error}. Choose another "
                              "output file, or delete this one to start afresh.") from None
        layer = dataset.GetLayerByName(STATUS_LAYER)
        if layer is None:
            raise OutputError(f"'{self.path}' exists but is no batch output (no '{STATUS_LAYER}' table). Choose "
                              "another output file.")
        done = {feature.GetField("source") for feature in layer if feature.GetField("status") == OK}
        dataset = None
        return done

    def _open(self):
        from osgeo import ogr

        ogr.UseExceptions()
        existed = os.path.exists(self.path)
        failure = None
        try:
            if existed:
                self.dataset = ogr.Open(self.path, update=1)
            else:
                self.dataset = ogr.GetDriverByName("GPKG").CreateDataSource(self.path)
            if self.dataset.GetLayerByName(STATUS_LAYER) is None:
                _create_layer(self.dataset, STATUS_LAYER, None, ogr.wkbNone, STATUS_FIELDS)
        except RuntimeError as error:
            failure = str(error)  # not the error itself: its traceback holds the file open
        if failure is not None:
            self.close()
            if not existed:  # a GeoPackage made only in part would not open: remove it, and SQLite's journal
                for made in (self.path, self.path + "-journal", self.path + "-wal", self.path + "-shm"):
                    remove_quietly(made)
            raise output_error(self.path, failure, "the batch output")

    def _lines_layer(self, crs_wkt: str, fields):
        """The lines layer, made on the first lines; a field a later scene brings (a method's own) is added."""
        from osgeo import ogr

        layer = self.dataset.GetLayerByName(LINES_LAYER)
        if layer is None:
            return _create_layer(self.dataset, LINES_LAYER, _srs(crs_wkt), ogr.wkbLineString, fields)
        definition = layer.GetLayerDefn()
        present = {definition.GetFieldDefn(index).GetName() for index in range(definition.GetFieldCount())}
        _add_fields(layer, [(name, kind) for name, kind in fields if name not in present])
        return layer

    def _transform(self, layer, crs_wkt: str):
        from osgeo import osr

        if crs_wkt not in self.transforms:
            target, source = layer.GetSpatialRef(), _srs(crs_wkt)
            same = target is None or source is None or source.IsSame(target)
            self.transforms[crs_wkt] = None if same else osr.CoordinateTransformation(source, target)
        return self.transforms[crs_wkt]

    def write(self, outcome: SceneOutcome) -> None:
        """The scene's lines and status row, in one transaction (a previous row of the same source is replaced)."""
        from osgeo import ogr

        resume = ("The scenes done before it are kept: run again with the same output to finish the others, once "
                  "the cause is fixed.")
        try:
            check_free_space(self.path, estimated_size(sum(len(coords) for coords, _ in outcome.lines),
                                                       len(outcome.lines) + 1), f"scene '{outcome.scene}' to")
        except OutputError as error:
            raise OutputError(f"{error} {resume}") from None
        if self.dataset is None:
            self._open()
        try:
            self.dataset.StartTransaction()
            try:
                status = self.dataset.GetLayerByName(STATUS_LAYER)
                status.SetAttributeFilter("source = '{}'".format(outcome.source.replace("'", "''")))
                stale = [feature.GetFID() for feature in status]
                status.SetAttributeFilter(None)
                for fid in stale:
                    status.DeleteFeature(fid)
                if outcome.lines:
                    fields = line_fields(attributes for _coords, attributes in outcome.lines)
                    layer = self._lines_layer(outcome.crs_wkt, fields)
                    transform = self._transform(layer, outcome.crs_wkt)
                    for coords, attributes in outcome.lines:
                        geometry = ogr.Geometry(ogr.wkbLineString)
                        for x, y in coords:
                            geometry.AddPoint_2D(float(x), float(y))
                        if transform is not None:
                            geometry.Transform(transform)
                        values = line_values(attributes, fields)
                        _add_feature(layer, {name: value for (name, _kind), value in zip(fields, values)}, geometry)
                _add_feature(status, {
                    "scene": outcome.scene, "source": outcome.source, "status": outcome.status, "error": outcome.error,
                    "seconds": outcome.seconds, "line_count": len(outcome.lines), "length": round(outcome.length, 2),
                    "worker": outcome.worker, "peak_rss_mb": outcome.peak_rss_mb,
                    "finished": datetime.datetime.now().isoformat(timespec="seconds")})
            except BaseException:
                self.dataset.RollbackTransaction()
                raise
            self.dataset.CommitTransaction()
        except RuntimeError as error:
            failure = str(error)  # not the error itself: its traceback holds the file open
        else:
            return
        raise OutputError(f"{output_error(self.path, failure, f'scene {outcome.scene!r} to')} {resume}")

    def close(self) -> None:
        with closing_errors():  # every scene was committed on its own; a failure to close loses none of them
            self.dataset = None


def _srs(crs_wkt: str):
    from osgeo import osr

    if not crs_wkt:
        return None
    srs = osr.SpatialReference()
    srs.SetFromUserInput(crs_wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _create_layer(dataset, name: str, srs, geometry_type, fields):
    layer = dataset.CreateLayer(name, srs, geometry_type)
    _add_fields(layer, fields)
    return layer


def _add_fields(layer, fields) -> None:
    from osgeo import ogr

    kinds = {"str": ogr.OFTString, "real": ogr.OFTReal, "int": ogr.OFTInteger64}
    for field_name, kind in fields:
        layer.CreateField(ogr.FieldDefn(field_name, kinds[kind]))


def _add_feature(layer, values: dict, geometry=None) -> None:
    from osgeo import ogr

    feature = ogr.Feature(layer.GetLayerDefn())
    for name, value in values.items():
        if value is not None:
            feature.SetField(name, value)
    if geometry is not None:
        feature.SetGeometry(geometry)
    layer.CreateFeature(feature)


class Progress:
    """Scenes done of the total, rate and time left (from this run's scenes), to the hooks."""

    def __init__(self, total: int, hooks: RunHooks):
        self.total, self.hooks, self.done, self.failed = total, hooks, 0, 0
        self.started = time.perf_counter()

    def add(self, outcome: SceneOutcome) -> None:
        self.done += 1
        self.failed += outcome.status != OK
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed * 60 if elapsed > 0 else 0.0
        left = (self.total - self.done) / (self.done / elapsed) if self.done else 0.0
        detail = (f"{outcome.status}, {len(outcome.lines)} line(s), {outcome.length / 1000:.2f} km, "
                  f"{outcome.seconds:.1f} s" if outcome.status == OK else f"error: {outcome.error.rstrip('.')}")
        self.hooks.log(f"[{self.done}/{self.total}] {outcome.scene}: {detail}. {rate:.1f} scenes/min, about "
                       f"{_duration(left)} left{f'; {self.failed} failed' if self.failed else ''}.")
        for warning in outcome.warnings:
            self.hooks.warning(f"{outcome.scene}: {warning}")
        self.hooks.progress(100.0 * self.done / self.total)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_batch(sources: Sequence[str], output: str | os.PathLike, config: BatchConfig,
              hooks: RunHooks | None = None) -> BatchResult:
    """Extract every scene not yet done in `output` into it; see the module's doc. Raises Cancelled when the
    user stops (the scenes done so far are kept) and OutputError when the file cannot be written."""
    hooks = as_hooks(hooks)
    writer = BatchWriter(output)
    done_before = writer.done_sources()
    todo = [source for source in dict.fromkeys(sources) if source not in done_before]
    skipped = [source for source in sources if source in done_before]
    if skipped:
        hooks.note(f"{len(skipped)} scene(s) already done in {Path(writer.path).name}: skipped.")
    result = BatchResult(writer.path, [], skipped)
    if not todo:
        hooks.progress(100)
        return result
    check_free_space(writer.path, estimated_size(0, 0), "the batch output")  # before the first scene's work
    progress = Progress(len(todo), hooks)

    def record(outcome: SceneOutcome) -> None:
        writer.write(outcome)
        result.done.append(outcome)
        progress.add(outcome)

    try:
        if config.workers == 0 and not config.scheduler:
            _run_here(todo, config, hooks, record)
        else:
            _run_on_dask(todo, config, hooks, record)
    finally:
        writer.close()
    failed = len(result.failed)
    hooks.note(f"{len(result.done) - failed} scene(s) done, {failed} failed, {len(skipped)} skipped; written to "
               f"{writer.path}.")
    return result


def _run_here(todo: Sequence[str], config: BatchConfig, hooks: RunHooks, record) -> None:
    hooks.note(f"{len(todo)} scene(s), one at a time in this process.")
    try:
        for source in todo:
            hooks.check_cancel()
            record(run_scene(source, config.extract, config.threads, cancel=hooks.cancel))
    except Cancelled:
        raise Cancelled(_cancel_message()) from None


def _cancel_message() -> str:
    return "Cancelled: the scenes done so far are in the output; run again with the same output to finish the rest."


def _run_on_dask(todo: Sequence[str], config: BatchConfig, hooks: RunHooks, record) -> None:
    try:
        from distributed import Client, Event, LocalCluster, wait
    except ImportError:
        raise InputError("Running scenes on Dask needs the packages dask and distributed: `make install` puts them in "
                         "the command line's environment, the plugin's installer leaves them out of QGIS. Install "
                         "them, or run the scenes one at a time (0 workers).") from None
    needs_models = registry.get(config.extract.method).uses_models
    cluster = None
    try:
        if config.scheduler:
            client = Client(config.scheduler, timeout="20s")
            hooks.note(f"Dask scheduler {config.scheduler}: {len(client.scheduler_info()['workers'])} worker(s).")
            threads = config.threads
        else:
            workers = config.workers or default_workers(needs_models)
            threads = config.threads or max(1, (os.cpu_count() or 1) // workers)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=config.processes,
                                   dashboard_address=None)
            client = Client(cluster)
            hooks.note(f"Local Dask cluster: {workers} worker {'process' if config.processes else 'thread'}(s), "
                       f"one scene at a time each{f', {threads} torch thread(s) each' if needs_models else ''}.")
    except (OSError, TimeoutError) as error:
        if cluster is not None:
            cluster.close()
        raise InputError(f"Cannot reach the Dask scheduler {config.scheduler or '(local)'}: {error}. Check the "
                         "address (tcp://host:8786) and that the scheduler runs.") from None
    event_name = f"sar-coastline-cancel-{uuid.uuid4().hex}"
    cancel_event = Event(event_name, client=client)
    pending = []
    try:
        pending = [client.submit(run_scene, source, config.extract, threads, event_name, key=f"scene-{index}-"
                                 f"{uuid.uuid4().hex[:8]}", pure=False) for index, source in enumerate(todo)]
        sources = {future.key: source for future, source in zip(pending, todo)}
        while pending:
            if hooks.cancel():
                raise Cancelled(_cancel_message())
            done, not_done = _wait_some(wait, pending)
            pending = list(not_done)
            for future in done:
                try:
                    outcome = future.result()
                except Cancelled:
                    raise Cancelled(_cancel_message()) from None
                except Exception as error:  # noqa: BLE001 (a worker lost with its scene: record it, go on)
                    source = sources[future.key]
                    outcome = SceneOutcome(source, Path(source).stem, ERROR, f"{type(error).__name__}: {error}")
                record(outcome)
    except (Cancelled, KeyboardInterrupt):
        cancel_event.set()  # scenes running on workers stop at their next check
        client.cancel(pending, force=True)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait_some(wait, pending):
    """The futures done within CANCEL_POLL_S (maybe none), so the caller checks cancel between waits."""
    try:
        return wait(pending, timeout=CANCEL_POLL_S, return_when="FIRST_COMPLETED")
    except TimeoutError:
        return [], pending
