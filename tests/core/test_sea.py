"""The sea-only step: lakes and bright sea patches left out, islands kept, land on the left of every line."""

import numpy as np
import pytest
import shapely
from scipy import ndimage

from sar_coastline.core.config import ExtractConfig, InferenceConfig
from sar_coastline.core.inference.predict import EnsemblePredictor
from sar_coastline.core.io.scene import array_scene
from sar_coastline.core.lines.sea import ALL_WATER, SEA_ONLY, SeaRule, WaterMap
from sar_coastline.core.pipeline.extract import extract
from testdata import ThresholdNet, loaded

PIXEL = 3.0
ORIGIN_X, ORIGIN_Y = 500_000.0, 6_000_000.0
GEOTRANSFORM = (ORIGIN_X, PIXEL, 0.0, ORIGIN_Y, 0.0, -PIXEL)
COAST_COL = 150


def coast_scene(seed: int = 0):
    """Sea west of COAST_COL, land east; a lake in the land, an island and a wind-roughened patch in the sea."""
    rows, cols = np.mgrid[0:384, 0:384]
    db = np.where(cols < COAST_COL, -21.0, -6.0)
    db[(rows - 100) ** 2 + (cols - 280) ** 2 < 45**2] = -21.0  # lake, 1.8 ha
    db[(rows - 280) ** 2 + (cols - 70) ** 2 < 30**2] = -5.0  # island
    db[(rows - 100) ** 2 + (cols - 60) ** 2 < 40**2] = -11.0  # wind-roughened sea: above the threshold, still sea
    rng = np.random.default_rng(seed)
    intensity = 10 ** ((db + 83.0) / 10.0) * rng.gamma(4.0, 0.25, db.shape)
    return array_scene(np.clip(np.sqrt(intensity), 1, 65535).astype(np.uint16), GEOTRANSFORM, name="coast")


def to_pixels(coords):
    return (coords[:, 0] - ORIGIN_X) / PIXEL, (ORIGIN_Y - coords[:, 1]) / PIXEL


def classical(water, **extra):
    return extract(coast_scene(), ExtractConfig(method="classical", water=water, **extra))


# The discs of coast_scene by name: centre (col, row) and radius in pixels. Pixel c spans [c, c + 1), so a disc
# of pixels about index c is centred on c + 0.5.
SHORES = {"lake": (280.5, 100.5, 45.0), "patch": (60.5, 100.5, 40.0), "island": (70.5, 280.5, 30.0)}


def rings(lines):
    """{shore name: (centroid col, row, radius of the same area)} of the closed lines, each by its nearest disc."""
    found = {}
    for line in lines:
        if np.allclose(line.coords[0], line.coords[-1]):
            polygon = shapely.Polygon(np.column_stack(to_pixels(line.coords)))
            centre = polygon.centroid
            name = min(SHORES, key=lambda shore: np.hypot(centre.x - SHORES[shore][0], centre.y - SHORES[shore][1]))
            assert name not in found, f"two rings around the {name}"
            found[name] = (centre.x, centre.y, np.sqrt(polygon.area / np.pi))
    return found


def test_all_water_draws_every_shore():
    result = classical(ALL_WATER)
    found = rings(result.lines)
    assert sorted(found) == ["island", "lake", "patch"] and len(result.lines) == 4  # and the coast
    for name, (col, row, radius) in found.items():
        # Each ring on its disc's edge to within half a pixel (measured: 0.05 px centres, 0.07 px radii), but the
        # patch's: it stands 10 dB above the sea, not 15, so the threshold (-14.1 dB) lies three quarters up its
        # blurred edge, 0.64 of the filter's sigma (1.24 px) inside: radius about 39.2 (measured 39.07).
        expected_col, expected_row, expected_radius = SHORES[name]
        assert np.hypot(col - expected_col, row - expected_row) < 0.5
        assert radius == pytest.approx(expected_radius - (1.0 if name == "patch" else 0.0), abs=0.5)
    coast = max(result.lines, key=lambda line: line.length_m)
    assert np.abs(to_pixels(coast.coords)[0] - COAST_COL).max() < 0.5  # a straight edge: sub-pixel all along


def test_sea_only_keeps_the_coast_and_the_islands_and_leaves_out_the_lake():
    result = classical(SEA_ONLY)
    assert result.figures["inland_water_bodies"] == 1 and result.figures["sea_patches_as_sea"] == 0
    assert len(result.lines) == 3  # by default the bright sea patch is an island like any other
    kept, every = rings(result.lines), rings(classical(ALL_WATER).lines)
    assert sorted(kept) == ["island", "patch"]  # the lake's shore is the one left out
    for name in kept:  # the same shores as every water boundary's, not others
        assert kept[name] == pytest.approx(every[name], abs=1e-6)


def test_a_lake_cut_by_a_gap_inside_the_scene_stays_a_lake():
    scene = coast_scene()
    scene.array[90:130, 300:340] = 0  # a processing gap through the lake: no-data, but not beyond the image
    lake_centre = np.array([280.0, 100.0])
    # A smaller minimum sea than the default, so that only the gap can decide (the lake is 1.8 ha).
    result = extract(scene, ExtractConfig(method="classical", water=SEA_ONLY, sea=SeaRule(min_sea_km2=0.005)))
    assert result.figures["inland_water_bodies"] == 1
    for line in result.lines:
        cols, rows = to_pixels(line.coords)
        assert np.hypot(cols - lake_centre[0], rows - lake_centre[1]).min() > 55  # no line along the lake shore


def sea_of(water: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The sea cells (of 30 m: 10 x 10 px) the rule decides for a water map of 3 m pixels; a smaller minimum sea
    than the default, so that only the share of the sea decides."""
    water_map = WaterMap(array_scene(np.ones(water.shape, np.uint16), GEOTRANSFORM), 1, SeaRule(min_sea_km2=0.005))
    water_map.add(0, water & valid, valid)
    water_map.decide()
    return water_map.near_sea & ~ndimage.binary_dilation(~water_map.near_sea, np.ones((3, 3), bool))


def test_a_water_body_cut_by_the_border_is_sea_only_beside_the_sea_or_joined_to_it():
    """30 x 30 cells: the sea west (280 cells); east of it, a lake cut by the top border (12 cells), a bay cut by
    the right border joined to the sea by a channel 2 px wide (12 cells), and a bay against a no-data wedge at the
    bottom (the swath's edge, beyond which the sea goes on) that the sea touches too (8 cells)."""
    water = np.zeros((300, 300), bool)
    valid = np.ones((300, 300), bool)
    water[:, :100] = True
    water[:30, 260:] = True  # the lake
    water[140:170, 260:] = True  # the channel's bay
    water[154:156, 100:260] = True  # its channel: a fifth of a cell wide
    water[260:280, 140:180] = True  # the wedge's bay
    valid[280:, :180] = False  # the wedge
    sea = sea_of(water, valid)
    assert sea[15, 5] and not sea[1, 28]  # the lake is small beside the sea
    assert sea[15, 28] and sea[27, 16]  # both bays are sea
    # Without the channel, and with land between the sea and the wedge, each bay is small beside the sea: a lake.
    water[154:156, 100:260] = False
    valid[280:, :120] = True
    alone = sea_of(water, valid)
    assert alone[15, 5] and not alone[1, 28] and not alone[15, 28] and not alone[27, 16]


def test_the_plausibility_rule_leaves_out_the_bright_sea_patch():
    result = classical(SEA_ONLY, sea=SeaRule(island_contrast_db=3.0))
    assert result.figures["inland_water_bodies"] == 1 and result.figures["sea_patches_as_sea"] == 1
    assert len(result.lines) == 2
    coast, island = sorted(result.lines, key=lambda line: -line.length_m)
    cols, _rows = to_pixels(coast.coords)
    assert np.abs(cols - COAST_COL).max() < 3 and coast.length_m > 0.9 * 384 * PIXEL
    cols, rows = to_pixels(island.coords)
    assert np.abs(np.hypot(rows - 280, cols - 70) - 30).max() < 3
    assert any("inland water body" in note for note in result.notes)


def test_land_is_on_the_left_of_every_line():
    result = classical(SEA_ONLY, sea=SeaRule(island_contrast_db=3.0))
    coast, island = sorted(result.lines, key=lambda line: -line.length_m)
    _cols, rows = to_pixels(coast.coords)
    assert rows[0] < rows[-1]  # land east: walking south (down the image) keeps it on the left
    assert shapely.Polygon(island.coords).exterior.is_ccw  # an island: counter-clockwise around its land


def test_a_reference_coastline_cuts_lines_far_from_it():
    reference = (np.array([[ORIGIN_X + COAST_COL * PIXEL, ORIGIN_Y], [ORIGIN_X + COAST_COL * PIXEL,
                                                                       ORIGIN_Y - 384 * PIXEL]]),)
    result = classical(ALL_WATER, reference_lines=reference, reference_distance_m=30.0)
    assert len(result.lines) == 1
    cols, _rows = to_pixels(result.lines[0].coords)
    assert np.abs(cols - COAST_COL).max() < 3


def test_unknown_water_choice_is_refused():
    from sar_coastline.core.errors import InputError

    with pytest.raises(InputError, match="Unknown WATER"):
        classical("lakes")


def test_the_model_path_leaves_out_the_lake_and_puts_land_on_the_left():
    predictor = EnsemblePredictor([(loaded(ThresholdNet()), 1.0)], device="cpu", batch_size=8)
    config = ExtractConfig(method="orientation_free", inference=InferenceConfig(device="cpu"))
    every_shore = extract(coast_scene(), ExtractConfig(method="orientation_free", water=ALL_WATER,
                                                       inference=config.inference), predictor=predictor)
    sea_only = extract(coast_scene(), config, predictor=predictor)
    lake_shore = [line for line in every_shore.lines if np.abs(to_pixels(line.coords)[0] - 280).max() < 50]
    assert lake_shore and not [line for line in sea_only.lines
                               if np.abs(to_pixels(line.coords)[0] - 280).max() < 50]
    # The lake's ring is on the lake's edge to a pixel (a map of 2 px cells; measured 0.03 px, radius 44.8).
    col, row, radius = rings(every_shore.lines)["lake"]
    assert np.hypot(col - SHORES["lake"][0], row - SHORES["lake"][1]) < 1.0
    assert radius == pytest.approx(SHORES["lake"][2], abs=1.0)
    coast = max(sea_only.lines, key=lambda line: line.length_m)
    cols, rows = to_pixels(coast.coords)
    assert rows[0] < rows[-1]
    assert np.abs(cols - COAST_COL).max() < 1.0 and coast.length_m > 0.95 * 384 * PIXEL  # measured 0.38 px


def test_the_command_line_takes_water_and_a_reference_file(tmp_path):
    import json

    from sar_coastline.core.lines.vectorize import Coastline, write_lines
    from sar_coastline.core.pipeline.cli import main
    from testdata import write_raster

    scene = coast_scene()
    raster = write_raster(tmp_path / "coast.tif", scene.array, pixel_size=PIXEL)
    reference = tmp_path / "reference.gpkg"
    x = ORIGIN_X + COAST_COL * PIXEL
    write_lines(str(reference), [Coastline(np.array([[x, ORIGIN_Y], [x, ORIGIN_Y - 384 * PIXEL]]))],
                _utm33())
    assert main([str(raster), str(tmp_path / "all.geojson"), "--water", "all"]) == 0
    assert main([str(raster), str(tmp_path / "near.geojson"), "--water", "all", "--reference", str(reference),
                 "--reference-distance", "30"]) == 0
    every = json.loads((tmp_path / "all.geojson").read_text())["features"]
    near = json.loads((tmp_path / "near.geojson").read_text())["features"]
    assert len(every) == 4 and len(near) == 1


def _utm33() -> str:
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    return srs.ExportToWkt()
