import numpy as np
import pytest

from sar_coastline.core.evaluation.metric import (
    BUFFER_QUAD_SEGS,
    distances_to_lines,
    evaluate,
    false_coast_length,
    sample_along,
)

STRAIGHT = [np.array([[0.0, 0.0], [3000.0, 0.0]])]
# The false-coast buffer's largest radial error at the 150 m cap: its arcs are chords of the circle.
BUFFER_ERROR_M = 150.0 * (1 - np.cos(np.pi / (4 * BUFFER_QUAD_SEGS)))


def test_identical_lines_score_zero():
    score, distances = evaluate(STRAIGHT, STRAIGHT)
    assert score.score == 0 and score.median == 0 and score.miss_rate == 0 and score.symmetric_m == 0
    assert score.n_points == 100 and len(distances) == 100


def test_a_10_m_shift_scores_10():
    shifted = [STRAIGHT[0] + [0.0, 10.0]]
    score, _distances = evaluate(shifted, STRAIGHT)
    assert score.score == pytest.approx(10.0, abs=0.01)
    assert score.symmetric_m == pytest.approx(10.0, abs=0.01)
    assert score.false_coast_m == 0


def test_empty_prediction_scores_the_cap():
    score, distances = evaluate([], STRAIGHT)
    assert score.score == 150 and score.miss_rate == 1 and np.isinf(distances).all()
    assert np.isnan(score.symmetric_m) and score.false_coast_m == 0


def test_far_prediction_is_a_miss_and_false_coast():
    score, _distances = evaluate([STRAIGHT[0] + [0.0, 200.0]], STRAIGHT)
    assert score.score == 150 and score.miss_rate == 1
    assert score.false_coast_m == pytest.approx(3000.0, rel=1e-6)


def test_half_prediction_misses_half_and_cap_is_respected():
    half = [np.array([[0.0, 0.0], [1500.0, 0.0]])]
    score, _distances = evaluate(half, STRAIGHT)
    assert score.miss_rate == pytest.approx(0.45, abs=0.011)  # points past 1500 + 150 m
    capped, _distances = evaluate(half, STRAIGHT, cap=50.0)
    assert capped.score < score.score and capped.cap == 50.0


def test_sample_along_an_l_shaped_line():
    points = sample_along([np.array([[0.0, 0.0], [45.0, 0.0], [45.0, 45.0]])], spacing=30.0)
    np.testing.assert_allclose(points, [[0, 0], [30, 0], [45, 15]])  # 90 m: stations 0, 30, 60


def test_distance_to_a_segment_interior_is_exact():
    line = [np.array([[0.0, 0.0], [1000.0, 0.0]])]
    np.testing.assert_allclose(distances_to_lines(np.array([[500.0, 7.0], [1003.0, 4.0], [-5.0, 0.0]]), line),
                               [7.0, 5.0, 5.0])


def test_distance_past_a_segment_end_no_line_and_no_point():
    line = [np.array([[0.0, 0.0], [1000.0, 0.0]]), np.array([[1300.0, 400.0]])]  # a one-vertex line is no line
    np.testing.assert_allclose(distances_to_lines(np.array([[1300.0, 400.0], [-30.0, -40.0]]), line), [500.0, 50.0])
    assert np.isinf(distances_to_lines(np.array([[1.0, 2.0]]), line[1:])).all()
    assert distances_to_lines(np.empty((0, 2)), line).shape == (0,)


def test_distances_match_brute_force_on_many_lines():
    rng = np.random.default_rng(0)
    lines = [np.cumsum(rng.normal(0, 8, (200, 2)), axis=0) + rng.uniform(0, 500, 2) for _ in range(5)]
    ring = 100 * np.column_stack([np.cos(np.linspace(0, 2 * np.pi, 50)), np.sin(np.linspace(0, 2 * np.pi, 50))])
    lines.append(ring + 250)
    points = rng.uniform(-50, 600, (300, 2))
    starts = np.concatenate([line[:-1] for line in lines])
    ends = np.concatenate([line[1:] for line in lines])
    d = ends - starts
    t = np.clip(((points[:, None] - starts) * d).sum(-1) / (d**2).sum(-1), 0, 1)
    brute = np.sqrt(((points[:, None] - starts - t[..., None] * d) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(distances_to_lines(points, lines), brute, atol=1e-9)


def test_false_coast_counts_only_the_far_part():
    predicted = [np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 1000.0]])]
    reference = [np.array([[0.0, 0.0], [1000.0, 0.0]])]
    assert false_coast_length(predicted, reference, 150.0) == pytest.approx(850.0, abs=BUFFER_ERROR_M)


def test_false_coast_of_a_line_leaving_the_reference_end():
    """1000 m: 450 m on the reference, then 550 m straight out of its end, the last 400 m beyond the cap; the
    ray crosses the buffer's round end between two arc vertices, where the chord lies inside the circle."""
    reference = [np.array([[0.0, 0.0], [1000.0, 0.0]])]
    ray = np.array([np.cos(0.3), np.sin(0.3)])
    predicted = [np.array([[550.0, 0.0], [1000.0, 0.0], [1000.0, 0.0] + 550.0 * ray])]
    far = false_coast_length(predicted, reference, 150.0)
    assert 400.0 <= far <= 400.0 + BUFFER_ERROR_M and BUFFER_ERROR_M < 0.02
    assert false_coast_length(predicted, [], 150.0) == pytest.approx(1000.0)


def test_false_coast_keeps_a_lakes_hole_but_not_a_small_islands():
    """Inside a closed 1 km square shore, farther than 150 m from it is false coast; inside an octagonal island
    of 40 m radius all of it lies within 150 m (there GEOS gives the closed line's buffer a false hole)."""
    square = 1000 * np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    assert false_coast_length([np.array([[500.0, 100.0], [500.0, 900.0]])], [square], 150.0) == pytest.approx(
        700.0, abs=BUFFER_ERROR_M)
    angles = np.linspace(0, 2 * np.pi, 9)
    island = 40 * np.column_stack([np.cos(angles), np.sin(angles)])
    island[-1] = island[0]
    assert false_coast_length([np.array([[0.0, -100.0], [0.0, 100.0]])], [island], 150.0) == 0


def test_no_points_is_an_error():
    with pytest.raises(ValueError, match="No evaluation points"):
        evaluate(STRAIGHT, [])


def test_false_coast_where_geos_buffers_the_reference_into_nested_shells():
    """The second benchmark set's 40 m scene: buffering its truth lines at once gave an invalid polygon (nested
    shells) and difference() raised; the per-line buffers' union measures the same length as dense sampling."""
    from sar_coastline.synthetic.scenes import generate_scene, shifted_water_lines

    scene = generate_scene(1536, 1536, 3012, "mixed", 40.0)
    predicted = shifted_water_lines(scene, 2)
    far = false_coast_length(predicted, scene.truth_lines, 150.0)
    points, lengths = [], []
    for line in predicted:
        for start, end in zip(line[:-1], line[1:]):
            count = max(1, int(np.ceil(np.hypot(*(end - start)) / 2.0)))
            fractions = (np.arange(count) + 0.5) / count
            points.append(start + fractions[:, None] * (end - start))
            lengths.append(np.full(count, np.hypot(*(end - start)) / count))
    distances = distances_to_lines(np.concatenate(points), scene.truth_lines)
    sampled = float(np.concatenate(lengths)[distances > 150.0].sum())
    assert far > 1000.0 and far == pytest.approx(sampled, rel=0.02)
