import hashlib

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from scipy import ndimage

from sar_coastline.core.evaluation.metric import distances_to_lines, evaluate
from sar_coastline.core.io.georef import map_to_pixel
from sar_coastline.core.io.scene import CF_DB
from sar_coastline.synthetic.scenes import STYLES, generate_scene, shifted_water_lines, write_scene


@pytest.fixture(scope="module")
def rocky():
    return generate_scene(384, 320, seed=3, style="rocky")


def test_same_seed_same_scene_other_seed_other_scene():
    a, b, c = (generate_scene(256, 256, seed, "beach") for seed in (1, 1, 2))
    np.testing.assert_array_equal(a.dn, b.dn)
    assert not np.array_equal(a.dn, c.dn)


@pytest.mark.parametrize("style", STYLES)
def test_every_style_has_sea_land_and_lines(style):
    scene = generate_scene(256, 256, seed=5, style=style)
    assert scene.dn.dtype == np.uint16 and scene.dn.shape == (256, 256)
    assert (scene.labels == 0).any() and (scene.labels == 2).any()
    assert scene.truth_lines and scene.datum_lines
    # The truth is the visible water line: every vertex lies in a pixel beside the other side of land/not land
    # (the contour runs between pixel centres); the datum line, a 6-30 m tide away, would not.
    land = scene.labels == 2
    across = np.maximum(ndimage.distance_transform_edt(land), ndimage.distance_transform_edt(~land))
    x, y = map_to_pixel(scene.geotransform, *np.concatenate(scene.truth_lines).T)
    assert across[np.clip(y.astype(int), 0, 255), np.clip(x.astype(int), 0, 255)].max() == 1.0


def test_nodata_is_dn_zero_exactly_where_labelled(rocky):
    np.testing.assert_array_equal(rocky.dn == 0, rocky.labels == 1)


def test_sea_is_darker_than_land(rocky):
    db = 20 * np.log10(np.maximum(rocky.dn, 1)) + CF_DB
    assert np.median(db[rocky.labels == 0]) < np.median(db[rocky.labels == 2]) - 3


def test_truth_lines_follow_the_label_boundary_and_avoid_nodata(rocky):
    boundary = (rocky.labels == 2) ^ np.roll(rocky.labels == 2, 1, axis=0)
    boundary |= (rocky.labels == 2) ^ np.roll(rocky.labels == 2, 1, axis=1)
    rows, cols = np.nonzero(boundary[1:-1, 1:-1])
    gt = rocky.geotransform
    boundary_xy = np.column_stack([gt[0] + (cols + 1) * gt[1], gt[3] + (rows + 1) * gt[5]])
    vertices = np.concatenate(rocky.truth_lines)
    distance = distances_to_lines(vertices, [boundary_xy[i:i + 1].repeat(2, 0) for i in range(len(boundary_xy))])
    assert np.percentile(distance, 95) < 1.5 * 3.0
    x, y = map_to_pixel(gt, vertices[:, 0], vertices[:, 1])
    assert (rocky.labels[y.astype(int), x.astype(int)] != 1).all()


def test_datum_line_is_offset_by_a_plausible_tide(rocky):
    score, _distances = evaluate(rocky.truth_lines, rocky.datum_lines)
    assert 1.0 < score.median < 40.0
    assert abs(rocky.tide_m) > 3.0  # a scene's mean tide offset: 2-10 px of 3 m, landward or seaward


def test_lake_shores_are_not_coast():
    scene = generate_scene(512, 512, seed=11, style="rocky")
    bodies, count = ndimage.label(scene.labels == 0, structure=np.ones((3, 3), bool))
    sizes = np.bincount(bodies.ravel())[1:]
    lakes = [index + 1 for index, size in enumerate(sizes) if size < sizes.max() / 20]
    assert lakes, "this scene has lakes"
    vertices = np.concatenate(scene.truth_lines)
    x, y = map_to_pixel(scene.geotransform, vertices[:, 0], vertices[:, 1])
    beside = ndimage.grey_dilation(bodies, size=5)[y.astype(int), x.astype(int)]
    assert not np.isin(beside, lakes).any()  # no truth along a lake
    assert (beside == np.argmax(sizes) + 1).mean() > 0.5  # the truth runs along the sea


def test_shifted_water_line_moves_seaward_by_the_given_pixels(rocky):
    unshifted = np.concatenate(shifted_water_lines(rocky, 0))
    np.testing.assert_allclose(unshifted, np.concatenate(rocky.truth_lines))
    shifted = np.concatenate(shifted_water_lines(rocky, 4))
    assert abs(np.median(distances_to_lines(shifted, rocky.truth_lines)) - 4 * 3.0) < 2.0
    x, y = map_to_pixel(rocky.geotransform, shifted[:, 0], shifted[:, 1])
    assert rocky.visible_land[y.astype(int), x.astype(int)].mean() < 0.5  # off the visible land: on the sea side


def test_written_files_are_georeferenced(tmp_path, rocky):
    paths = write_scene(rocky, tmp_path, "rocky")
    image = gdal.Open(str(paths.image))
    assert image.GetGeoTransform()[1] == 3.0 and image.GetRasterBand(1).GetNoDataValue() == 0
    assert osr.SpatialReference(wkt=image.GetProjection()).IsProjected()
    np.testing.assert_array_equal(image.ReadAsArray(), rocky.dn)
    truth = ogr.Open(str(paths.truth))
    points = truth.GetLayerByName("points")
    assert truth.GetLayerByName("coastline").GetFeatureCount() == len(rocky.truth_lines)
    datum = truth.GetLayerByName("datum")
    assert datum.GetFeatureCount() == len(rocky.datum_lines)
    assert datum.GetNextFeature().GetField("tide_m") == pytest.approx(rocky.tide_m)
    first, second = points.GetNextFeature(), points.GetNextFeature()  # features own their geometries
    assert 20.0 < first.GetGeometryRef().Distance(second.GetGeometryRef()) <= 30.0 + 1e-6  # 30 m along the line


def test_non_square_scene():
    scene = generate_scene(300, 700, seed=9, style="estuary")
    assert scene.dn.shape == (700, 300)


def test_coarser_pixels_show_the_same_ground_smaller_and_with_more_looks():
    fine, coarse = (generate_scene(384, 384, seed=7, style="rocky", pixel_size=size) for size in (3.0, 30.0))
    assert coarse.geotransform[1] == 30.0
    # the same ground features a tenth the size in pixels: a longer coast line in pixels per scene
    fine_px = sum(np.hypot(*np.diff(line, axis=0).T).sum() for line in fine.truth_lines) / 3.0
    coarse_px = sum(np.hypot(*np.diff(line, axis=0).T).sum() for line in coarse.truth_lines) / 30.0
    assert coarse_px > 2 * fine_px
    assert coarse.looks > 3 >= fine.looks  # multilooked as GRD products


def test_effects_and_polarisation_are_recorded_and_drawn_per_scene():
    scenes = [generate_scene(256, 256, seed, "mixed") for seed in range(20, 32)]
    assert {scene.polarisation for scene in scenes} == {"co", "cross"}
    assert all(f"{scene.polarisation}-pol" in scene.effects and "incidence" in scene.effects for scene in scenes)
    drawn = {effect for scene in scenes for effect in scene.effects}
    assert {"slicks", "ships", "urban", "dark land"} <= drawn

    def sea_db(scene):
        return np.median(20 * np.log10(np.maximum(scene.dn[scene.labels == 0], 1)) + CF_DB)
    cross = [sea_db(scene) for scene in scenes if scene.polarisation == "cross"]
    co = [sea_db(scene) for scene in scenes if scene.polarisation == "co"]
    assert np.median(cross) < np.median(co) - 3  # cross-pol sea lies near the noise floor


def test_pixel_size_must_be_positive():
    with pytest.raises(ValueError, match="pixel_size"):
        generate_scene(64, 64, seed=1, pixel_size=0.0)


# Hashes of scenes made before the hard and dual-pol options: the default scenes of a seed must not change (the
# benchmark sets are drawn from them).
DEFAULT_SCENE_HASHES = {
    (256, 256, 5001, "beach", 3.0): ("dfffa4aea0313721ffbd2697070c235fb2ed465d2479ebcc3e3044de4bd88928",
                                     "92e525f6419854c9fa25a1ba977162e1ad46625811c12aeaf12923458c0bc1f0"),
    (192, 160, 3003, "rocky", 10.0): ("bc3d20d19861262a6d4166e3b8983eac7f2a82a90410eb6a549621618e7153db",
                                      "7a6667d33eaef3d7ad95b43497eab6ac42cc262d166ce6a272591cf26e092c7d"),
}


@pytest.mark.parametrize("arguments", DEFAULT_SCENE_HASHES)
def test_default_scenes_are_unchanged(arguments):
    scene = generate_scene(*arguments)
    dn_hash, labels_hash = DEFAULT_SCENE_HASHES[arguments]
    assert hashlib.sha256(scene.dn.tobytes()).hexdigest() == dn_hash
    assert hashlib.sha256(scene.labels.tobytes()).hexdigest() == labels_hash


def test_hard_scenes_draw_the_threshold_foolers_more_often_on_the_same_ground():
    def count(scenes, effect):
        return sum(effect in scene.effects for scene in scenes)
    default, hard = ([generate_scene(96, 96, seed, "mixed", hard=hard) for seed in range(12)] for hard in (False, True))
    assert count(hard, "wind front") > count(default, "wind front")
    assert count(hard, "dark land") > count(default, "dark land")
    assert all("hard" in scene.effects for scene in hard) and not count(default, "hard")
    for plain, harder in zip(default, hard):
        np.testing.assert_array_equal(harder.labels, plain.labels)
        np.testing.assert_array_equal(harder.visible_land, plain.visible_land)


@pytest.mark.parametrize("seed", [21, 10])  # a co-pol and a cross-pol first band
def test_dual_pol_adds_the_other_polarisation_over_the_same_ground(tmp_path, seed):
    default = generate_scene(160, 160, seed, "beach")
    scene = generate_scene(160, 160, seed, "beach", dual_pol=True)
    np.testing.assert_array_equal(scene.dn, default.dn)
    np.testing.assert_array_equal(scene.labels, default.labels)
    assert default.second_dn is None and default.second_polarisation is None
    assert scene.second_dn.dtype == np.uint16 and scene.second_dn.shape == scene.dn.shape
    np.testing.assert_array_equal(scene.second_dn == 0, scene.dn == 0)
    assert {scene.polarisation, scene.second_polarisation} == {"co", "cross"}

    def sea_db(dn):
        return np.median(20 * np.log10(np.maximum(dn[scene.labels == 0], 1)) + CF_DB)
    co, cross = (scene.dn, scene.second_dn) if scene.polarisation == "co" else (scene.second_dn, scene.dn)
    assert sea_db(cross) < sea_db(co)  # cross-pol sea lies near the noise floor

    image = gdal.Open(str(write_scene(scene, tmp_path, "dual").image))
    assert image.RasterCount == 2
    np.testing.assert_array_equal(image.GetRasterBand(2).ReadAsArray(), scene.second_dn)
    assert [image.GetRasterBand(band).GetDescription() for band in (1, 2)] == [
        f"{scene.polarisation}-pol", f"{scene.second_polarisation}-pol"]
