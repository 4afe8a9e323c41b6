"""Shoreline change (core.change): statistics and tide correction against hand-computed values, transects on
made-up lines, dates, the report, and the generated series end to end through extraction."""

from datetime import datetime

import numpy as np
import pytest

from sar_coastline.core.change.analysis import ChangeConfig, Shoreline, analyse_change
from sar_coastline.core.change.dates import date_from_name, decimal_year, parse_date, resolve_date
from sar_coastline.core.change.report import summary_rows
from sar_coastline.core.change.statistics import change_statistics
from sar_coastline.core.change.tide import TideSettings, level_at, read_levels, tide_correction
from sar_coastline.core.change.transects import Baseline
from sar_coastline.core.errors import InputError
from sar_coastline.core.hooks import RunHooks

# A made-up transect: four dates (years 0, 1, 2, 4), positions 0, 2, 3, 9 m, uncertainties 3, 1, 1, 4 m.
YEARS, POSITIONS, UNCERTAINTIES = [0.0, 1.0, 2.0, 4.0], [0.0, 2.0, 3.0, 9.0], [3.0, 1.0, 1.0, 4.0]


def test_envelope_net_movement_and_end_point_rate_by_hand():
    stats = change_statistics(YEARS, POSITIONS, UNCERTAINTIES)
    assert stats.n_dates == 4
    assert stats.sce_m == pytest.approx(9.0)  # farthest (9) minus closest (0)
    assert stats.nsm_m == pytest.approx(9.0)  # youngest (9) minus oldest (0)
    assert stats.epr_m_yr == pytest.approx(9.0 / 4.0)
    assert stats.epr_unc_m_yr == pytest.approx(np.sqrt(3.0**2 + 4.0**2) / 4.0)  # 5 / 4


def test_linear_regression_rate_r2_standard_error_and_confidence_by_hand():
    # mean year 1.75, mean position 3.5; centred years -1.75 -0.75 0.25 2.25; centred positions -3.5 -1.5 -0.5 5.5
    sxx = 1.75**2 + 0.75**2 + 0.25**2 + 2.25**2  # 8.75
    sxy = 1.75 * 3.5 + 0.75 * 1.5 - 0.25 * 0.5 + 2.25 * 5.5  # 19.5
    ss_total = 3.5**2 + 1.5**2 + 0.5**2 + 5.5**2  # 45
    ss_residual = ss_total - sxy**2 / sxx  # 1.542857...
    t_975_2dof = 4.302652729749464  # Student's t table, 95 % two-sided, 2 degrees of freedom
    stats = change_statistics(YEARS, POSITIONS, UNCERTAINTIES)
    assert stats.lrr_m_yr == pytest.approx(78 / 35)  # 19.5 / 8.75
    assert stats.lrr_r2 == pytest.approx(1 - ss_residual / ss_total)  # 0.965714...
    assert stats.lrr_se == pytest.approx(np.sqrt(ss_residual / 2))  # DSAS LSE, metres: 0.87831
    assert stats.lrr_ci95 == pytest.approx(t_975_2dof * np.sqrt(ss_residual / 2) / np.sqrt(sxx))  # 1.27756
    assert stats.lrr_ci95 == pytest.approx(1.27756, abs=1e-5)


def test_weighted_regression_rate_by_hand():
    # weights 1/u^2 = 1/9, 1, 1, 1/16: W = 313/144, sum w t = 3.25, sum w y = 5.5625, sum w t y = 10.25,
    # sum w t^2 = 6; slope = (10.25 - 3.25 * 5.5625 / W) / (6 - 3.25^2 / W) = 605 / 357
    stats = change_statistics(YEARS, POSITIONS, UNCERTAINTIES)
    assert stats.wlr_m_yr == pytest.approx(605 / 357)
    weighted = np.polyfit(YEARS, POSITIONS, 1, w=1 / np.array(UNCERTAINTIES))[0]  # polyfit weighs residuals by w
    assert stats.wlr_m_yr == pytest.approx(weighted)


def test_statistics_ignore_order_and_need_enough_dates():
    order = [2, 0, 3, 1]
    shuffled = change_statistics(*(np.array(values)[order] for values in (YEARS, POSITIONS, UNCERTAINTIES)))
    assert shuffled == change_statistics(YEARS, POSITIONS, UNCERTAINTIES)
    two = change_statistics([2000.0, 2004.0], [10.0, 4.0], [3.0, 4.0])
    assert (two.nsm_m, two.epr_m_yr, two.epr_unc_m_yr, two.sce_m) == pytest.approx((-6.0, -1.5, 1.25, 6.0))
    assert two.lrr_m_yr is None and two.wlr_m_yr is None and two.lrr_ci95 is None  # DSAS: three dates for LRR
    one = change_statistics([2000.0], [1.0], [1.0])
    assert one.n_dates == 1 and one.nsm_m is None and one.epr_m_yr is None
    still = change_statistics([0.0, 1.0, 2.0], [5.0, 5.0, 5.0], [1.0, 1.0, 1.0])
    assert still.lrr_m_yr == 0.0 and still.lrr_r2 is None and still.lrr_se == 0.0  # R^2 undefined, not 1 or 0


def test_tide_correction_by_hand_and_levels_from_a_csv(tmp_path):
    assert tide_correction(1.2, 0.2, 0.1) == pytest.approx(10.0)  # (1.2 - 0.2) / 0.1: 10 m seaward
    assert tide_correction(-0.3, 0.2, 0.05) == pytest.approx(-10.0)
    with pytest.raises(InputError, match="slope must be positive"):
        tide_correction(1.0, 0.0, 0.0)
    table = tmp_path / "tide.csv"
    table.write_text("date;level_m\n2021-03-04T00:00;1,0\n2021-03-04T12:00;2,0\n2021-03-10;0,5\n")
    levels = read_levels(table)
    assert levels[0] == (datetime(2021, 3, 4), 1.0) and len(levels) == 3
    assert level_at(levels, datetime(2021, 3, 4, 6)) == pytest.approx(1.5)  # halfway between 1.0 and 2.0
    assert level_at(levels, datetime(2021, 3, 10)) == pytest.approx(0.5)  # an exact row
    assert level_at(levels, datetime(2021, 3, 7)) is None  # rows 5.5 days apart: no interpolation
    assert level_at(levels, datetime(2020, 1, 1)) is None
    bad = tmp_path / "bad.csv"
    bad.write_text("date,level\n2021-03-04,high\n")
    with pytest.raises(InputError, match="line 2"):
        read_levels(bad)


def test_dates_from_fields_and_product_names():
    assert parse_date("2021-03-04") == datetime(2021, 3, 4)
    assert parse_date("2021:03:04 05:23:45") == datetime(2021, 3, 4, 5, 23, 45)  # TIFFTAG_DATETIME
    assert parse_date("2021-03-04T05:23:45Z") == datetime(2021, 3, 4, 5, 23, 45)
    assert parse_date("20210304") == datetime(2021, 3, 4)
    assert parse_date("") is None and parse_date(None) is None
    with pytest.raises(InputError, match="ambiguous"):
        parse_date("04/03/2021")
    sentinel1 = "S1A_IW_GRDH_1SDV_20210304T052345_20210304T052410_036845_045678_ABCD"
    assert date_from_name(sentinel1) == datetime(2021, 3, 4, 5, 23, 45)
    assert date_from_name("ALOS2014410740-140829_UBSL1.5GUA") == datetime(2014, 8, 29)
    assert date_from_name("coast_20160601") == datetime(2016, 6, 1)
    assert date_from_name("site7_04.03.2021", "%d.%m.%Y") == datetime(2021, 3, 4)
    assert date_from_name("no date here") is None
    assert resolve_date(None, ("", "layer_2019-09-01")) == datetime(2019, 9, 1)
    assert decimal_year(datetime(2001, 1, 1)) - decimal_year(datetime(2000, 1, 1)) == pytest.approx(366 / 365.2425)


def straight_coast(y: float, when: datetime, reverse: bool = False, uncertainty=None) -> Shoreline:
    """An east-west coast at map y with land to the north: running east, land is on its left."""
    coords = np.array([[0.0, y], [500.0, y + 0.0], [1000.0, y]])
    return Shoreline(coords[::-1] if reverse else coords, when, uncertainty, source=f"{when:%Y}")


DATES = [datetime(2000, 1, 1), datetime(2002, 1, 1), datetime(2004, 1, 1), datetime(2008, 1, 1)]
SOUTHWARD = [0.0, -4.0, -6.0, -18.0]  # metres moved south, i.e. seaward


def expected_lrr(positions):
    years = [decimal_year(when) for when in DATES]
    return np.polyfit(years, positions, 1)[0]


@pytest.mark.parametrize("reverse, sea_side", [(False, "land_left"), (True, "land_right")])
def test_automatic_baseline_on_made_up_lines(reverse, sea_side):
    lines = [straight_coast(y, when, reverse) for y, when in zip(SOUTHWARD, DATES)]
    result = analyse_change(lines, ChangeConfig(spacing_m=100, length_m=300, sea_side=sea_side))
    assert len(result.transects) == 11  # every 100 m along the 1 km baseline, both ends included
    baseline = result.baselines[0].coords
    assert baseline[:, 1] == pytest.approx(np.median(SOUTHWARD) + 100)  # 100 m onshore (north) of the median
    for item in result.transects:
        assert item.transect.direction == pytest.approx([0, -1])  # from the baseline on land, south to sea
        assert item.seaward == 1 and item.stats.n_dates == 4 and item.multi_dates == 0
        assert item.stats.nsm_m == pytest.approx(18.0)
        assert item.stats.lrr_m_yr == pytest.approx(expected_lrr([0, 4, 6, 18]))
        assert item.stats.lrr_m_yr > 0  # moving seaward: accretion, positive as in DSAS
    first = [measurement for measurement in result.measurements if measurement.transect_id == 0]
    # the baseline lies at y = median(0, -4, -6, -18) + 100 = 95
    assert [measurement.distance_m for measurement in first] == pytest.approx([95, 99, 101, 113])


def test_given_baseline_on_land_or_at_sea_gives_the_same_rates():
    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    onshore = Baseline(np.array([[0.0, 200.0], [1000.0, 200.0]]))
    offshore = Baseline(np.array([[0.0, -300.0], [1000.0, -300.0]]))
    on_land = analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=250), [onshore])
    at_sea = analyse_change(lines, ChangeConfig(sea_side="baseline_offshore", spacing_m=250), [offshore])
    by_lines = analyse_change(lines, ChangeConfig(sea_side="land_left", spacing_m=250), [offshore])
    for result in (on_land, at_sea, by_lines):
        assert [item.stats.lrr_m_yr for item in result.transects] == pytest.approx([expected_lrr([0, 4, 6, 18])] * 5)
    assert at_sea.transects[0].transect.direction == pytest.approx([0, 1])  # towards the lines, i.e. to land
    assert at_sea.transects[0].seaward == -1 and by_lines.transects[0].seaward == -1


def test_several_crossings_follow_the_stated_rule_and_are_flagged():
    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    # the 2002 line zigzags across x = 500 three times, at y = -4, -10 and -20 (seaward positions 4, 10, 20 m
    # from the first line, whose baseline distance is 200)
    zigzag = np.array([[0.0, -4.0], [499.0, -4.0], [501.0, -4.0], [501.0, -10.0], [499.0, -10.0], [499.0, -20.0],
                       [501.0, -20.0], [1000.0, -20.0]])
    lines[1] = Shoreline(zigzag, DATES[1])
    baseline = [Baseline(np.array([[400.0, 200.0], [600.0, 200.0]]))]  # one transect at x = 500
    found = {}
    for rule in ("seaward", "landward", "median"):
        config = ChangeConfig(sea_side="baseline_onshore", spacing_m=1000, intersection=rule)
        result = analyse_change(lines, config, baseline)
        (item,) = result.transects
        assert item.multi_dates == 1
        measurement = next(m for m in result.measurements if m.when == DATES[1])
        assert measurement.n_crossings == 3
        found[rule] = measurement.position_m
    assert found == pytest.approx({"seaward": 220.0, "landward": 204.0, "median": 210.0})


def test_tide_correction_is_applied_before_the_rates():
    # levels 0.5, 1.0, 0.0, 1.5 m, reference 0.5 m, slope 0.1: corrections 0, +5, -5, +10 m seaward
    levels = [0.5, 1.0, 0.0, 1.5]
    lines = [Shoreline(straight_coast(y, when).coords, when, tide_level=level)
             for y, when, level in zip(SOUTHWARD, DATES, levels)]
    baseline = [Baseline(np.array([[0.0, 200.0], [1000.0, 200.0]]), slope=0.1)]
    config = ChangeConfig(sea_side="baseline_onshore", spacing_m=500, tide=TideSettings(reference_m=0.5, slope=0.2))
    result = analyse_change(lines, config, baseline)
    first = [measurement for measurement in result.measurements if measurement.transect_id == 0]
    assert [measurement.tide_correction_m for measurement in first] == pytest.approx([0.0, 5.0, -5.0, 10.0])
    assert [measurement.position_m for measurement in first] == pytest.approx([200, 209, 201, 228])
    assert result.transects[0].stats.lrr_m_yr == pytest.approx(expected_lrr([200, 209, 201, 228]))
    assert result.tide_levels == dict(zip(DATES, levels))
    table = TideSettings(reference_m=0.5, slope=0.2, levels=((DATES[0], 0.5),))
    with pytest.raises(InputError, match="No water level for 2002-01-01"):
        analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", tide=table), baseline)


def test_clear_errors_for_unusable_input():
    one_date = [straight_coast(0.0, DATES[0]), straight_coast(5.0, DATES[0])]
    with pytest.raises(InputError, match="at least two dates"):
        analyse_change(one_date, ChangeConfig())
    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    with pytest.raises(InputError, match="Without a BASELINE"):
        analyse_change(lines, ChangeConfig(sea_side="baseline_onshore"))
    far = [Baseline(np.array([[0.0, 5000.0], [1000.0, 5000.0]]))]
    with pytest.raises(InputError, match="No transect crosses lines of two dates"):
        analyse_change(lines, ChangeConfig(sea_side="baseline_onshore"), far)
    with pytest.raises(InputError, match="Unknown intersection rule"):
        analyse_change(lines, ChangeConfig(intersection="closest"))


def test_default_uncertainty_and_line_uncertainties_feed_epr_and_wlr():
    lines = [straight_coast(y, when, uncertainty=u) for y, when, u in zip(SOUTHWARD, DATES, [3.0, None, 0.0, 4.0])]
    result = analyse_change(lines, ChangeConfig(spacing_m=500, default_uncertainty_m=2.0))
    first = [measurement.uncertainty_m for measurement in result.measurements if measurement.transect_id == 0]
    assert first == [3.0, 2.0, 2.0, 4.0]  # missing and non-positive values take the default
    years = decimal_year(DATES[-1]) - decimal_year(DATES[0])
    assert result.transects[0].stats.epr_unc_m_yr == pytest.approx(5.0 / years)


def test_report_png_and_html(tmp_path):
    from sar_coastline.core.change.report import write_change_report

    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    result = analyse_change(lines, ChangeConfig(spacing_m=100))
    png = write_change_report(tmp_path / "change.png", result, lines)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_change_report(tmp_path / "change.html", result, lines, (0, 3)).read_text()
    assert "Chosen transects" in page and "data:image/png;base64," in page and "2008-01-01" in page
    chosen = page.split("<h2>Chosen transects</h2>")[1].split("</table>")[0]
    header, first_row = chosen.split("</tr>")[:2]
    assert header.count("<th>") == first_row.count("<td>") == 14 and "<th>wlr_ci95</th>" in header
    with pytest.raises(InputError, match="do not exist"):
        write_change_report(tmp_path / "x.png", result, lines, (99,))


def test_generated_series_extracted_then_analysed_recovers_the_rates(tmp_path):
    """Five dates of a 384 x 384 px coast retreating 6 m/yr in the north and accreting 4 m/yr in the south, with
    3 m of position noise and speckle: classical extraction, then LRR along transects from an onshore baseline."""
    from sar_coastline.core.config import ExtractConfig
    from sar_coastline.core.pipeline.extract import extract
    from sar_coastline.synthetic.series import MovingCoast, generate_series, onshore_baseline, write_series

    coast = MovingCoast()
    shorelines = []
    for path in write_series(generate_series(coast), coast, tmp_path):
        extracted = extract(path, ExtractConfig(method="classical"))
        for line in extracted.lines:
            shorelines.append(Shoreline(line.coords, parse_date(line.attributes["date"]),
                                        line.attributes.get("uncertainty_m"), source=extracted.scene.name))
    assert len({shoreline.when for shoreline in shorelines}) == 5  # dates from the rasters' metadata
    result = analyse_change(shorelines, ChangeConfig(sea_side="baseline_onshore"), [Baseline(onshore_baseline(coast))])
    rows = [(coast.rate_at_y(item.transect.origin[1]), item.stats.lrr_m_yr) for item in result.transects
            if item.stats.lrr_m_yr is not None]
    true, recovered = np.array(rows).T
    steady = np.abs(true - np.where(true < 0, coast.north_rate, coast.south_rate)) < 0.05  # away from the change
    errors = np.abs(recovered - true)[steady]
    assert steady.sum() >= 16
    assert np.median(errors) < 0.6 and errors.max() < 1.5  # measured: median 0.29, max 0.98 m/yr
    assert np.median(recovered[true < -5]) == pytest.approx(coast.north_rate, abs=0.5)
    assert np.median(recovered[true > 3]) == pytest.approx(coast.south_rate, abs=0.5)

    # Extract writes land on the left of every line: the automatic baseline and the lines' direction suffice
    automatic = analyse_change(shorelines, ChangeConfig(sea_side="land_left"))
    rows = [(coast.rate_at_y(item.transect.origin[1]), item.stats.lrr_m_yr) for item in automatic.transects
            if item.stats.lrr_m_yr is not None]
    true, recovered = np.array(rows).T
    steady = np.abs(true - np.where(true < 0, coast.north_rate, coast.south_rate)) < 0.05
    assert steady.sum() >= 12 and np.median(np.abs(recovered - true)[steady]) < 0.6


def test_dsas_dates_month_first_with_or_without_a_time_and_a_stated_format():
    from sar_coastline.core.change.dates import DSAS_DATE_FORMATS

    assert parse_date("01/01/1977", DSAS_DATE_FORMATS) == datetime(1977, 1, 1)
    assert parse_date("07/15/1990", DSAS_DATE_FORMATS) == datetime(1990, 7, 15)  # month first: 15 is the day
    assert parse_date("3/4/2005 14:30", DSAS_DATE_FORMATS) == datetime(2005, 3, 4, 14, 30)
    assert parse_date("10/31/2022 02:15:09 PM", DSAS_DATE_FORMATS) == datetime(2022, 10, 31, 14, 15, 9)
    assert parse_date("2022-10-31", DSAS_DATE_FORMATS) == datetime(2022, 10, 31)  # ISO is never ambiguous
    with pytest.raises(InputError, match=r"does not match the date format %m/%d/%Y \(with or without a time\)"):
        parse_date("31/10/2022", DSAS_DATE_FORMATS)
    assert parse_date("04/03/2021", ("%d/%m/%Y",)) == datetime(2021, 3, 4)  # the user's DATE_FORMAT
    assert parse_date("04.03.2021 05:06", ("%d.%m.%Y %H:%M",)) == datetime(2021, 3, 4, 5, 6)
    with pytest.raises(InputError, match="set DATE_FORMAT"):
        parse_date("2021/31/12", ("%d/%m/%Y",))
    with pytest.raises(InputError, match=r"is not a date this plugin reads.*ambiguous"):
        parse_date("01/01/1977")  # no stated format: refused as before
    # CoastSat writes '%Y-%m-%d %H:%M:%S', CoastSeg ISO with an offset
    assert parse_date("2019-01-03 10:51:07") == datetime(2019, 1, 3, 10, 51, 7)
    assert parse_date("2019-01-03T10:51:07+00:00") == datetime(2019, 1, 3, 10, 51, 7)
    assert resolve_date("06/30/2022", ("coast_20200101",), None, DSAS_DATE_FORMATS) == datetime(2022, 6, 30)


def weighted_fit_by_linear_algebra(years, positions, uncertainties, t_value):
    """WLR, WR2, WSE and WCI from the textbook weighted least squares: rows scaled by sqrt(w), w = 1 / u^2,
    slope variance s^2 (X'WX)^-1 with s^2 = sum w r^2 / (n - 2)."""
    years, positions = np.asarray(years, float), np.asarray(positions, float)
    weights = 1.0 / np.asarray(uncertainties, float) ** 2
    design = np.column_stack([np.ones_like(years), years])
    scale = np.sqrt(weights)
    (intercept, slope), *_ = np.linalg.lstsq(design * scale[:, None], positions * scale, rcond=None)
    residuals = positions - intercept - slope * years
    variance = (weights @ residuals**2) / (len(years) - 2)
    slope_se = np.sqrt(variance * np.linalg.inv(design.T @ (design * weights[:, None]))[1, 1])
    mean = weights @ positions / weights.sum()
    r2 = 1 - (weights @ residuals**2) / (weights @ (positions - mean) ** 2)
    return slope, r2, np.sqrt(variance), t_value * slope_se


T_975_2DOF = 4.302652729749464  # Student's t table, 95 % two-sided, 2 degrees of freedom


def test_weighted_regression_r2_standard_error_and_confidence_as_dsas_defines_them():
    stats = change_statistics(YEARS, POSITIONS, UNCERTAINTIES)
    slope, r2, se, ci = weighted_fit_by_linear_algebra(YEARS, POSITIONS, UNCERTAINTIES, T_975_2DOF)
    assert stats.wlr_m_yr == pytest.approx(605 / 357) == pytest.approx(slope)
    assert (stats.wlr_r2, stats.wlr_se, stats.wlr_ci95) == pytest.approx((r2, se, ci))
    assert stats.wlr_r2 != pytest.approx(stats.lrr_r2)  # the weights matter here
    # equal uncertainties: the weighted figures scale to the unweighted ones (WSE by 1/u, the rest unchanged)
    equal = change_statistics(YEARS, POSITIONS, [2.0] * 4)
    assert (equal.wlr_m_yr, equal.wlr_r2, equal.wlr_ci95) == pytest.approx((equal.lrr_m_yr, equal.lrr_r2,
                                                                           equal.lrr_ci95))
    assert equal.wlr_se == pytest.approx(equal.lrr_se / 2.0)
    two = change_statistics([2000.0, 2004.0], [10.0, 4.0], [3.0, 4.0])
    assert two.wlr_r2 is None and two.wlr_se is None and two.wlr_ci95 is None


def test_dsas_baselines_search_distance_and_group_per_baseline():
    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    west = Baseline(np.array([[0.0, 200.0], [500.0, 200.0]]), baseline_id=1, group=7, search_m=260.0)
    east = Baseline(np.array([[500.0, 200.0], [1000.0, 200.0]]), baseline_id=2, group=8)
    notes = []
    result = analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=100, length_m=205),
                            [west, east], RunHooks(log=notes.append))
    by_baseline = {1: [], 2: []}
    for item in result.transects:
        by_baseline[item.transect.baseline_id].append(item)
    assert {item.transect.length_m for item in by_baseline[1]} == {260.0}  # DSAS_search reaches every line
    assert {item.transect.length_m for item in by_baseline[2]} == {205.0}  # LENGTH reaches 2000 and 2002 only
    assert {item.transect.group for item in by_baseline[1]} == {7}
    assert {item.transect.group for item in by_baseline[2]} == {8}
    assert {item.stats.n_dates for item in by_baseline[1]} == {4}
    assert {item.stats.n_dates for item in by_baseline[2]} == {2}
    rate = expected_lrr([0, 4, 6, 18])
    assert f"Group 7: 6 transects, 6 with two dates or more, LRR median {rate:+.2f} m/yr." in notes
    assert "Group 8: 6 transects, 6 with two dates or more." in notes
    assert ("Group 8: transects (with two dates or more), LRR median", "6 (6)") in summary_rows(result)


def test_a_run_where_most_transects_miss_a_second_date_warns_with_the_count_and_the_cause():
    lines = [straight_coast(y, when) for y, when in zip(SOUTHWARD, DATES)]
    baseline = [Baseline(np.array([[0.0, 200.0], [1000.0, 200.0]]))]
    hooks = RunHooks()
    result = analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=100, length_m=8), [
        Baseline(np.array([[0.0, 3.0], [1000.0, 3.0]]))], hooks)  # 8 m from y = 3 reaches 0 and -4 only...
    assert all(item.stats.n_dates == 2 for item in result.transects) and not hooks.warnings  # ...two dates: no word

    hooks = RunHooks()
    near_one_end = Shoreline(np.array([[0.0, 195.0], [60.0, 195.0], [80.0, -30.0], [1000.0, -30.0]]),
                             datetime(2012, 1, 1))
    far = [Shoreline(np.array([[0.0, 150.0], [1000.0, 150.0]]), datetime(2010, 1, 1)), near_one_end]
    result = analyse_change(far, ChangeConfig(sea_side="baseline_onshore", spacing_m=100, length_m=60), baseline,
                            hooks)
    assert sum(item.stats.n_dates >= 2 for item in result.transects) == 1  # exit 0 ...
    (warning,) = hooks.warnings  # ... and a word: the count, the cause, the remedy
    assert warning.startswith("Only 1 of 11 transects cross lines of two dates or more; the other 10 give no rate.")
    assert "10 are too short" in warning and "up to 230 m from the baseline" in warning
    assert "beyond LENGTH (60 m); set it to at least 260 m" in warning

    hooks = RunHooks()
    short_date = Shoreline(np.array([[0.0, -4.0], [150.0, -4.0]]), DATES[1])  # covers 15 % of the coast
    analyse_change([lines[0], short_date], ChangeConfig(sea_side="baseline_onshore", spacing_m=100), baseline, hooks)
    assert "9 reach one date's lines only: the dates cover different stretches" in hooks.warnings[0]

    long_baseline = [Baseline(np.array([[-3000.0, 200.0], [1000.0, 200.0]]))]  # runs 3 km beyond the lines
    hooks = RunHooks()
    analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=100), long_baseline, hooks)
    assert "cross no line at any length: the baseline does not run along the lines there" in hooks.warnings[0]
    with pytest.raises(InputError, match="No transect crosses lines of two dates. Likely causes: 5 are too short"):
        analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=250, length_m=50), baseline)


def test_lines_running_against_the_stated_sea_side_are_warned_about():
    # DSAS sets are digitized either way: two of four dates run west, i.e. with land on their right
    lines = [straight_coast(y, when, reverse=index % 2 == 1) for index, (y, when) in enumerate(zip(SOUTHWARD, DATES))]
    baseline = [Baseline(np.array([[0.0, 200.0], [1000.0, 200.0]]))]
    hooks = RunHooks()
    analyse_change(lines, ChangeConfig(sea_side="land_left", spacing_m=100), baseline, hooks)
    assert any("against SEA_SIDE (land on the left)" in warning and "set SEA_SIDE to where the baseline lies" in
               warning for warning in hooks.warnings)
    hooks = RunHooks()
    onshore = analyse_change(lines, ChangeConfig(sea_side="baseline_onshore", spacing_m=100), baseline, hooks)
    assert not hooks.warnings and onshore.transects[0].stats.lrr_m_yr == pytest.approx(expected_lrr([0, 4, 6, 18]))
