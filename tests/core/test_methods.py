"""The seams: the method registry, the readers, the run hooks; what a newcomer's extension goes through."""

import numpy as np
import pytest

from sar_coastline.core.config import DEFAULT_METHOD, ExtractConfig
from sar_coastline.core.errors import InputError
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.inference.predict import EnsemblePredictor
from sar_coastline.core.io import readers
from sar_coastline.core.io.scene import CF_DB, array_scene
from sar_coastline.core.lines.vectorize import Coastline
from sar_coastline.core.methods import orientation_free, registry
from sar_coastline.core.methods.contract import Method, MethodContext
from sar_coastline.core.methods.models import model_lines
from sar_coastline.core.pipeline.extract import extract
from testdata import SIGMOID_META, SOFTMAX_META, ThresholdNet, loaded, two_halves_dn, write_raster

GEOTRANSFORM = (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0)


def test_registry_order_is_the_processing_enum_and_the_default_is_registered():
    assert registry.names()[:3] == ("orientation_free", "paper", "classical")  # scripts pass METHOD=2
    assert registry.get(DEFAULT_METHOD).uses_models is False
    assert [method.uses_models for method in registry.all_methods()][:3] == [True, True, False]
    with pytest.raises(InputError, match="Unknown method 'nope'.*classical"):
        registry.get("nope")


def test_a_registered_model_free_method_runs_through_extract():
    def middle_column(context: MethodContext):
        context.hooks.note("middle column")
        scene = context.scene
        x = scene.geotransform[0] + scene.width / 2 * scene.geotransform[1]
        return [Coastline(np.array([[x, GEOTRANSFORM[3]], [x, GEOTRANSFORM[3] - 300.0]]), {"models": ""})]

    method = registry.register(Method("middle", "Middle column", "A test method.", middle_column))
    try:
        result = extract(array_scene(two_halves_dn(), GEOTRANSFORM), ExtractConfig(method="middle"))
        assert result.method == "middle" and len(result.lines) == 1 and "middle column" in result.notes
        assert result.lines[0].attributes["method"] == "middle"
        assert result.lines[0].attributes["length_m"] == 300.0
        # It fed no water map: the sea step says so instead of guessing a land side.
        assert any("no sea/land map" in warning for warning in result.warnings)
        with pytest.raises(ValueError, match="already registered"):
            registry.register(method)
    finally:
        registry.unregister("middle")
    assert "middle" not in registry.names()


def test_a_registered_model_method_runs_models_and_the_image_edge_through_the_contract():
    """The shape of a coarse-to-fine method: the models decide sea and land (model_lines with a rule of its choice),
    the image's own edge places the line (the snap helper), the pipeline adds nothing twice."""
    calls = []

    def models_then_edge(context: MethodContext):
        calls.append(context.loaded_predictor is not None)  # the caller's predictor, not loaded again
        lines = model_lines(context, orientation_free.rule)
        return context.snap_to_edge(lines)

    registry.register(Method("models_then_edge", "Models, then the edge", "A test method.", models_then_edge,
                             uses_models=True))
    try:
        predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], "cpu", batch_size=8)
        result = extract(array_scene(two_halves_dn(), GEOTRANSFORM), ExtractConfig(method="models_then_edge"),
                         predictor=predictor)
    finally:
        registry.unregister("models_then_edge")
    assert calls == [True] and result.method == "models_then_edge"
    assert len(result.lines) == 1 and result.lines[0].attributes["models"] == "threshold"
    coords = result.lines[0].coords
    # The coast is the pixel edge at column 128 (x = 500384 m); speckle moves a snapped vertex by a pixel or so.
    offsets = np.abs(coords[:, 0] - (GEOTRANSFORM[0] + 128 * GEOTRANSFORM[1])) / GEOTRANSFORM[1]
    assert offsets.mean() < 1.0 and offsets.max() < 3.0
    assert coords[0, 1] > coords[-1, 1]  # land (east) on the left: the line runs south
    assert sum("Sea only" in note for note in result.notes) == 1  # the sea step ran once, inside the snap helper
    assert any(note.startswith("Edge snap") for note in result.notes)
    assert result.figures["tiles_with_data"] > 0


def test_the_first_method_that_runs_the_models_validates_them():
    assert registry.method_for_models([SOFTMAX_META]).name == "orientation_free"
    assert registry.method_for_models([SIGMOID_META]).name == "paper"  # coast-only: orientation-free refuses


def test_models_with_a_model_free_method_are_refused_naming_method(tmp_path):
    raster = write_raster(tmp_path / "halves.tif", two_halves_dn())
    with pytest.raises(InputError, match="METHOD 'classical' uses no model.*METHOD 0 \\(orientation_free\\)"):
        extract(str(raster), ExtractConfig(method="classical", models=("ensemble.json",)))


def test_readers_dispatch_and_carry_the_sensor_calibration(tmp_path):
    dn = two_halves_dn(128, 128)
    from_array = readers.open_scene(dn, readers.ReadOptions(geotransform=GEOTRANSFORM, calibration_db=-79.0))
    assert from_array.calibration_db == -79.0
    np.testing.assert_allclose(from_array.read_db(), array_scene(dn, GEOTRANSFORM).read_db() + 4.0, atol=1e-4)
    from_file = readers.open_scene(write_raster(tmp_path / "halves.tif", dn))
    assert from_file.calibration_db == CF_DB and "CF -83 dB" in from_file.describe_interpretation()
    with pytest.raises(InputError, match="geotransform"):
        readers.open_scene(dn)
    with pytest.raises(InputError, match="No reader"):
        readers.open_scene(42)


def test_a_registered_reader_is_asked_first(tmp_path):
    class UpsideDown:
        name = "upside_down"

        def accepts(self, source):
            return str(source).endswith(".flipped")

        def open(self, source, options):
            return array_scene(two_halves_dn()[::-1].copy(), GEOTRANSFORM, name="flipped")

    readers.register_reader(UpsideDown())
    try:
        assert readers.open_scene("scene.flipped").name == "flipped"
    finally:
        readers.unregister_reader("upside_down")
    assert all(reader.name != "upside_down" for reader in readers.readers())


def test_hooks_keep_notes_warnings_and_map_progress():
    logged, progress = [], []
    hooks = RunHooks(progress=progress.append, log=logged.append)
    half = hooks.span(50, 100)
    half.progress(50)
    half.warning("looks wrong")
    assert progress == [75.0] and hooks.warnings == ["looks wrong"] and logged == ["Warning: looks wrong"]
