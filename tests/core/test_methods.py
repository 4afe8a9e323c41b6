"""The seams: the method registry, the readers, the run hooks; what a newcomer's extension goes through."""

import numpy as np
import pytest

from sar_coastline.core import methods, readers
from sar_coastline.core.errors import InputError
from sar_coastline.core.extract import ExtractConfig, extract
from sar_coastline.core.hooks import RunHooks
from sar_coastline.core.raster import CF_DB, array_scene
from sar_coastline.core.vector import Coastline
from testdata import two_halves_dn, write_raster

GEOTRANSFORM = (500_000.0, 3.0, 0.0, 6_000_000.0, 0.0, -3.0)


def test_registry_order_is_the_processing_enum_and_the_default_is_registered():
    assert methods.names()[:3] == ("orientation_free", "paper", "classical")  # scripts pass METHOD=2
    assert methods.get(methods.DEFAULT_METHOD).needs_models is False
    assert [method.needs_models for method in methods.all_methods()][:3] == [True, True, False]
    with pytest.raises(InputError, match="Unknown method 'nope'.*classical"):
        methods.get("nope")


def test_a_registered_model_free_method_runs_through_extract():
    def middle_column(scene, config, hooks, water):
        hooks.note("middle column")
        x = scene.geotransform[0] + scene.width / 2 * scene.geotransform[1]
        return [Coastline(np.array([[x, GEOTRANSFORM[3]], [x, GEOTRANSFORM[3] - 300.0]]), {"models": ""})]

    method = methods.register(methods.Method("middle", "Middle column", "A test method.", needs_models=False,
                                             lines=middle_column))
    try:
        result = extract(array_scene(two_halves_dn(), GEOTRANSFORM), ExtractConfig(method="middle"))
        assert result.method == "middle" and len(result.lines) == 1 and "middle column" in result.notes
        assert result.lines[0].attributes["method"] == "middle"
        with pytest.raises(ValueError, match="already registered"):
            methods.register(method)
    finally:
        methods.unregister("middle")
    assert "middle" not in methods.names()


def test_a_method_must_say_how_it_runs():
    with pytest.raises(ValueError, match="exactly one"):
        methods.register(methods.Method("broken", "Broken", "", needs_models=False))


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
