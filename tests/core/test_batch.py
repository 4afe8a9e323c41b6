"""Batch extraction: a 2-worker Dask LocalCluster (worker processes) on generated scenes with one bad scene, the
GeoPackage's lines and status table, resume, cancel, the command line, one model load per worker."""

import os
import subprocess
import sys

import numpy as np
import pytest
from fulldisk import fill, resize, small_disk
from osgeo import ogr

from sar_coastline.core.config import ExtractConfig
from sar_coastline.core.errors import Cancelled, InputError, OutputError
from sar_coastline.core.evaluation.metric import evaluate
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.pipeline import batch
from sar_coastline.core.pipeline.batch import BatchConfig, find_scenes, run_batch
from sar_coastline.core.pipeline.extract import extract
from sar_coastline.synthetic.scenes import generate_scene, write_scene

SCENES = ((61, "rocky"), (62, "beach"), (63, "estuary"))
SEQUENTIAL = BatchConfig(workers=0)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Three generated scenes (dates in their names, as Sentinel-1 products have) and a bad one, in one folder;
    the truth of each by its scene name."""
    folder = tmp_path_factory.mktemp("batch_scenes")
    truths = {}
    for seed, style in SCENES:
        name = f"S1A_IW_GRDH_1SDV_202103{seed - 50:02d}T052345_{style}"
        scene = generate_scene(384, 384, seed, style)
        paths = write_scene(scene, folder, name)
        os.remove(paths.labels)  # only images in the folder
        os.remove(paths.truth)
        truths[name] = scene.truth_lines
    (folder / "broken.tif").write_text("not a raster")
    return folder, truths


def read_gpkg(path):
    """(status rows by scene, line features as (scene, date, coords)) of a batch GeoPackage."""
    dataset = ogr.Open(str(path))
    status = {}
    for feature in dataset.GetLayerByName("status"):
        row = {key: feature.GetField(key) for key in ("scene", "source", "status", "error", "line_count", "length",
                                                      "seconds", "peak_rss_mb", "worker")}
        assert row["scene"] not in status, "one status row per scene"
        status[row["scene"]] = row
    layer = dataset.GetLayerByName("coastline")
    lines = [] if layer is None else [
        (feature.GetField("scene"), feature.GetField("date"), feature.GetField("method"), feature.GetField("length_m"),
         np.array(feature.GetGeometryRef().GetPoints())[:, :2]) for feature in layer]
    dataset = None
    return status, lines


def test_two_worker_local_cluster_writes_every_scene_and_the_bad_scenes_error(scenes, tmp_path):
    """Worker processes (processes=True), as the command line runs them; one bad scene does not stop the others."""
    folder, truths = scenes
    logged = []
    output = tmp_path / "coast.gpkg"
    result = run_batch(find_scenes([folder]), output, BatchConfig(workers=2), RunHooks(log=logged.append))
    assert len(result.done) == 4 and [outcome.scene for outcome in result.failed] == ["broken"]
    status, lines = read_gpkg(output)
    assert status["broken"]["status"] == "error" and "broken.tif" in status["broken"]["error"]
    assert {status[name]["worker"] for name in status} <= {"0", "1"}
    for name, truth in truths.items():
        row = status[name]
        own = [coords for scene, _date, _method, _length, coords in lines if scene == name]
        assert row["status"] == "ok" and row["line_count"] == len(own) > 0
        assert row["length"] == pytest.approx(sum(length for scene, _d, _m, length, _c in lines if scene == name),
                                              rel=1e-6)
        assert row["peak_rss_mb"] > 50 and row["seconds"] > 0
        direct = extract(str(folder / f"{name}.tif"), ExtractConfig()).lines  # what Extract coastline gives
        assert len(direct) == len(own)
        assert sum(line.length_m for line in direct) == pytest.approx(row["length"], rel=1e-4)
        # The same lines vertex for vertex, in the same order (the GeoPackage keeps doubles): a batch that moved,
        # dropped or mixed up a scene's lines fails here, and so its score is the single-scene score exactly.
        for found, expected in zip(own, direct):
            np.testing.assert_allclose(found, expected.coords, rtol=0, atol=1e-6)
        score, _distances = evaluate(own, truth)
        direct_score, _distances = evaluate([line.coords for line in direct], truth)
        assert score.score == pytest.approx(direct_score.score, abs=1e-9) and score.n_points == direct_score.n_points
    dates = {scene: date for scene, date, _method, _length, _coords in lines}
    assert dates["S1A_IW_GRDH_1SDV_20210311T052345_rocky"] == "2021-03-11T05:23:45"  # from the product name
    assert any("Local Dask cluster: 2 worker process(s)" in line for line in logged)
    assert any("scenes/min, about" in line and "left" in line for line in logged)  # progress with time left


def test_a_rerun_skips_the_scenes_done_and_retries_the_failed(scenes, tmp_path):
    folder, truths = scenes
    names = sorted(truths)
    output = tmp_path / "coast.gpkg"
    first = run_batch([str(folder / f"{names[0]}.tif"), str(folder / "broken.tif")], output, SEQUENTIAL)
    assert [outcome.scene for outcome in first.done] == [names[0], "broken"]
    _status, lines_before = read_gpkg(output)
    second = run_batch(find_scenes([folder]), output, SEQUENTIAL)
    assert second.skipped == [str(folder / f"{names[0]}.tif")]
    assert sorted(outcome.scene for outcome in second.done) == sorted(names[1:] + ["broken"])
    status, lines = read_gpkg(output)
    assert sorted(status) == sorted(names + ["broken"])  # the broken scene's row replaced, not added
    assert sum(scene == names[0] for scene, *_rest in lines) == sum(scene == names[0] for scene, *_r in lines_before)


def test_cancel_keeps_the_scenes_done_and_a_rerun_finishes(scenes, tmp_path):
    folder, truths = scenes
    sources = [str(folder / f"{name}.tif") for name in sorted(truths)]
    output = tmp_path / "coast.gpkg"
    logged = []
    hooks = RunHooks(cancel=lambda: any(line.startswith("[1/3]") for line in logged), log=logged.append)
    with pytest.raises(Cancelled, match="run again with the same output"):
        run_batch(sources, output, SEQUENTIAL, hooks)
    status, _lines = read_gpkg(output)
    assert list(status) == [sorted(truths)[0]]
    result = run_batch(sources, output, SEQUENTIAL)
    assert len(result.skipped) == 1 and len(result.done) == 2
    assert sorted(read_gpkg(output)[0]) == sorted(truths)


def test_a_scene_committed_survives_a_crash_of_the_batch(scenes, tmp_path, monkeypatch):
    """A failure of the writer's process after a scene (here: an error raised while recording the second) leaves
    the first scene's lines and status committed; the file stays readable."""
    folder, truths = scenes
    sources = [str(folder / f"{name}.tif") for name in sorted(truths)]
    output = tmp_path / "coast.gpkg"
    calls = []
    real_write = batch.BatchWriter.write

    def failing_write(self, outcome):
        calls.append(outcome.scene)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        real_write(self, outcome)

    monkeypatch.setattr(batch.BatchWriter, "write", failing_write)
    with pytest.raises(RuntimeError, match="simulated"):
        run_batch(sources, output, SEQUENTIAL)
    monkeypatch.undo()
    status, lines = read_gpkg(output)
    assert list(status) == [sorted(truths)[0]]
    assert {scene for scene, *_rest in lines} == {sorted(truths)[0]}  # its lines and no line of the crashed scene
    assert len(lines) == status[sorted(truths)[0]]["line_count"] > 0


def test_a_disk_full_before_the_first_scene_stops_at_once_and_leaves_no_file(scenes, tmp_path, monkeypatch):
    folder, truths = scenes
    monkeypatch.setattr(batch, "run_scene", lambda *args, **kwargs: pytest.fail("no scene runs on a full disk"))
    with small_disk(tmp_path / "disk", 64) as disk:
        fill(disk)
        with pytest.raises(OutputError, match="Free disk space"):
            run_batch([str(folder / f"{name}.tif") for name in sorted(truths)], disk / "b.gpkg", SEQUENTIAL)
        assert os.listdir(disk) == ["filler"]


def test_a_disk_that_fills_up_keeps_the_scenes_done_and_a_rerun_with_room_finishes_them(scenes, tmp_path,
                                                                                        monkeypatch):
    """The second scene's transaction meets the full disk (the space check let through, as when another program
    fills the disk at that moment): SQLite rolls it back, the first scene stays, and after space is freed the
    rerun gives the lines of an uninterrupted run."""
    folder, truths = scenes
    sources = [str(folder / f"{name}.tif") for name in sorted(truths)]
    uninterrupted = read_gpkg(run_batch(sources, tmp_path / "whole.gpkg", SEQUENTIAL).path)[1]
    with small_disk(tmp_path / "disk", 2048) as disk:
        output = disk / "b.gpkg"
        monkeypatch.setattr(batch, "check_free_space", lambda *args, **kwargs: None)
        hooks = RunHooks(log=lambda line: fill(disk) if line.startswith("[1/3]") else None)
        with pytest.raises(OutputError, match=f"scene '{sorted(truths)[1]}' to '{output}': there is no space left "
                                              "on the disk.*scenes done before it are kept"):
            run_batch(sources, output, SEQUENTIAL, hooks)
        assert list(read_gpkg(output)[0]) == [sorted(truths)[0]]
        os.remove(disk / "filler")
        resize(disk, 4096)
        resumed = run_batch(sources, output, SEQUENTIAL)
        assert resumed.skipped == sources[:1] and len(resumed.done) == 2
        status, lines = read_gpkg(output)
    assert sorted(status) == sorted(truths) and {row["status"] for row in status.values()} == {"ok"}
    assert [(scene, coords.tolist()) for scene, _date, _method, _length, coords in lines] == [
        (scene, coords.tolist()) for scene, _date, _method, _length, coords in uninterrupted]


def test_find_scenes_reads_folders_and_lists_and_refuses_missing_paths(scenes, tmp_path):
    folder, truths = scenes
    listing = tmp_path / "list.txt"
    relative = os.path.relpath(folder, tmp_path)
    listing.write_text(f"# scenes\n{folder / sorted(truths)[1]}.tif\n\n{relative}/broken.tif  # a comment\n")
    found = find_scenes([listing, folder])
    assert found[:2] == [f"{folder / sorted(truths)[1]}.tif", str(folder / "broken.tif")]
    assert len(found) == 4  # duplicates dropped
    with pytest.raises(InputError, match="does not exist"):
        find_scenes([tmp_path / "nowhere"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="No scene found"):
        find_scenes([empty])


def test_the_output_must_be_a_batch_geopackage(scenes, tmp_path):
    folder, truths = scenes
    source = [str(folder / f"{sorted(truths)[0]}.tif")]
    with pytest.raises(OutputError, match="GeoPackage"):
        run_batch(source, tmp_path / "coast.shp", SEQUENTIAL)
    other = tmp_path / "other.gpkg"
    driver = ogr.GetDriverByName("GPKG").CreateDataSource(str(other))
    driver.CreateLayer("something", None, ogr.wkbPoint)
    driver = None
    with pytest.raises(OutputError, match="no batch output"):
        run_batch(source, other, SEQUENTIAL)


def test_the_models_are_loaded_once_for_every_scene(scenes, tmp_path, monkeypatch):
    """A model method: the worker's predictor is loaded on its first scene and reused (here in this process)."""
    folder, truths = scenes
    loads = []
    real_load = batch.load_predictor

    def counting_load(*args, **kwargs):
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(batch, "load_predictor", counting_load)
    monkeypatch.setattr(batch, "_PREDICTORS", {})
    config = BatchConfig(workers=0, threads=1, extract=ExtractConfig(method="orientation_free"))
    result = run_batch([str(folder / f"{name}.tif") for name in sorted(truths)[:2]], tmp_path / "m.gpkg", config)
    assert [outcome.status for outcome in result.done] == ["ok", "ok"] and len(loads) == 1
    _status, lines = read_gpkg(tmp_path / "m.gpkg")
    assert {method for _scene, _date, method, _length, _coords in lines} == {"orientation_free"}


def test_the_command_line_help_and_exit_codes(scenes, tmp_path):
    folder, truths = scenes
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    shown = subprocess.run([sys.executable, "-m", "sar_coastline.batch", "--help"], capture_output=True, text=True,
                           env=environment, check=True)
    assert "--scheduler" in shown.stdout and "--workers" in shown.stdout and "SCENE_OR_FOLDER" in shown.stdout
    assert all(option in shown.stdout for option in ("--polarisation", "--scale", "--calibration-db"))
    output = tmp_path / "cli.gpkg"
    run = subprocess.run([sys.executable, "-m", "sar_coastline.batch", str(folder / f"{sorted(truths)[0]}.tif"),
                          str(folder / "broken.tif"), "--out", str(output), "--workers", "0"],
                         capture_output=True, text=True, env=environment)
    assert run.returncode == 1 and run.stdout.strip() == str(output)  # 1: some scene failed
    assert "1 scene(s) done, 1 failed" in run.stderr


def test_cancel_on_a_dask_cluster_stops_and_a_rerun_finishes(scenes, tmp_path):
    """Threads of this process (processes=False) to start fast; the cancel path is the one worker processes take."""
    folder, truths = scenes
    sources = [str(folder / f"{name}.tif") for name in sorted(truths)]
    output = tmp_path / "coast.gpkg"
    logged = []
    hooks = RunHooks(cancel=lambda: any(line.startswith("[1/3]") for line in logged), log=logged.append)
    with pytest.raises(Cancelled, match="run again with the same output"):
        run_batch(sources, output, BatchConfig(workers=1, processes=False), hooks)
    done = read_gpkg(output)[0]
    assert 1 <= len(done) < 3
    result = run_batch(sources, output, BatchConfig(workers=1, processes=False))
    assert len(result.skipped) == len(done) and sorted(read_gpkg(output)[0]) == sorted(truths)


def test_lines_of_a_scene_in_another_crs_are_reprojected_into_the_layers(tmp_path):
    from osgeo import osr

    def wkt(epsg):
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        return srs.ExportToWkt()

    writer = batch.BatchWriter(tmp_path / "crs.gpkg")
    line = np.array([[500_000.0, 6_000_000.0], [500_100.0, 6_000_000.0]])
    for name, epsg in (("a", 32633), ("b", 32634)):  # the same coordinates in the next UTM zone: 6 degrees east
        writer.write(batch.SceneOutcome(f"/{name}.tif", name, "ok", crs_wkt=wkt(epsg),
                                        lines=[(line, {"scene": name, "length_m": 100.0})]))
    writer.close()
    _status, lines = read_gpkg(tmp_path / "crs.gpkg")
    coords = {scene: found for scene, _date, _method, _length, found in lines}
    assert np.allclose(coords["a"], line)
    assert 300_000 < coords["b"][0, 0] - coords["a"][0, 0] < 400_000  # about 6 degrees of longitude at 54 N
