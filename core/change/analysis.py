"""analyse_change(): the one call the Shoreline change algorithm makes.

Shorelines of several dates in, transects with DSAS statistics and the per-date measurements out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ..errors import InputError
from ..hooks import RunHooks, as_hooks
from .dates import decimal_year
from .intersections import crossings
from .statistics import ChangeStats, change_statistics
from .tide import TideSettings, level_at, tide_correction
from .transects import Baseline, Transect, automatic_baselines, cast_transects, extent_diagonal

# Which side is the sea: from the lines' direction, or from where the baseline lies.
LAND_LEFT, LAND_RIGHT, BASELINE_ONSHORE, BASELINE_OFFSHORE = SEA_SIDES = (
    "land_left", "land_right", "baseline_onshore", "baseline_offshore")
# Where a transect crosses one date's lines more than once (DSAS offers seaward-most or landward-most).
SEAWARD, LANDWARD, MEDIAN = INTERSECTION_RULES = ("seaward", "landward", "median")
SPARSE_SHARE = 0.5  # fewer transects than this share with two dates: the run warns and says why
AGAINST_SHARE = 0.25  # more transects than this share with a date's line running against SEA_SIDE: the run warns


@dataclass(frozen=True)
class Shoreline:
    """One line of one date, in a projected CRS (metres)."""

    coords: np.ndarray
    when: datetime
    uncertainty_m: float | None = None  # None (or not positive): the config's default
    tide_level: float | None = None  # water level at acquisition, when given per line
    source: str = ""


@dataclass(frozen=True)
class ChangeConfig:
    spacing_m: float = 50.0
    length_m: float = 500.0
    sea_side: str = LAND_LEFT
    baseline_offset_m: float = 100.0  # automatic baseline: onshore (> 0) or offshore (< 0) of the mean position
    default_uncertainty_m: float = 10.0
    intersection: str = SEAWARD
    tide: TideSettings | None = None  # None: no tide correction


@dataclass(frozen=True)
class Measurement:
    """The shoreline of one date on one transect."""

    transect_id: int
    when: datetime
    year: float
    point: np.ndarray  # where the transect crosses the line
    distance_m: float  # from the baseline along the transect, as measured
    position_m: float  # seaward positive, tide corrected: what the statistics use
    tide_correction_m: float | None
    uncertainty_m: float
    n_crossings: int  # more than one: the intersection rule chose
    source: str


@dataclass
class TransectResult:
    transect: Transect
    seaward: int  # +1 when the transect's direction points to sea, -1 when it points to land
    stats: ChangeStats
    multi_dates: int  # dates whose lines cross this transect more than once


@dataclass
class ChangeResult:
    transects: list[TransectResult]
    measurements: list[Measurement]
    baselines: list[Baseline]
    dates: list[datetime]
    tide_levels: dict[datetime, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_config(config: ChangeConfig) -> None:
    if config.sea_side not in SEA_SIDES:
        raise InputError(f"Unknown sea side '{config.sea_side}'. Choose one of: {', '.join(SEA_SIDES)}.")
    if config.intersection not in INTERSECTION_RULES:
        raise InputError(f"Unknown intersection rule '{config.intersection}'. Choose one of: "
                         f"{', '.join(INTERSECTION_RULES)}.")
    if not config.spacing_m > 0 or not config.length_m > 0:
        raise InputError("SPACING and LENGTH must be positive distances in metres.")
    if not config.default_uncertainty_m > 0:
        raise InputError("The default uncertainty must be positive (metres): the WLR weights are 1 / uncertainty^2.")


def analyse_change(shorelines: list[Shoreline], config: ChangeConfig, baselines: list[Baseline] | None = None,
                   hooks: RunHooks | None = None) -> ChangeResult:
    """Transects along the baselines (or an automatic one), each date's position on them, and the DSAS statistics
    per transect (positive = seaward). Raises InputError for unusable input, Cancelled when asked to stop."""
    hooks = as_hooks(hooks)
    check_config(config)
    dates = sorted({shoreline.when for shoreline in shorelines})
    if len(dates) < 2:
        found = f"one date ({dates[0]:%Y-%m-%d})" if dates else "no lines"
        raise InputError(f"Shoreline change needs lines of at least two dates; the input has {found}. Add layers "
                         "of other dates, or check DATE_FIELD.")
    lines = [np.asarray(shoreline.coords, float) for shoreline in shorelines]
    levels = _tide_levels(shorelines, config.tide) if config.tide is not None else {}
    hooks.note(f"{len(shorelines)} line(s) of {len(dates)} dates, {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}.")

    if baselines:
        transects, seaward_by_baseline = [], {}
        for baseline in baselines:
            transects += cast_transects(baseline, config.spacing_m, config.length_m, lines, len(transects))
        if config.sea_side in (BASELINE_ONSHORE, BASELINE_OFFSHORE):
            seaward_by_baseline = {baseline.baseline_id: 1 if config.sea_side == BASELINE_ONSHORE else -1
                                   for baseline in baselines}
    else:
        baselines = _automatic_baselines(shorelines, dates, lines, config)
        hooks.note(f"Automatic baseline: {len(baselines)} line(s), {abs(config.baseline_offset_m):g} m "
                   f"{'onshore' if config.baseline_offset_m > 0 else 'offshore'} of the mean shoreline position.")
        land_side = 1 if config.sea_side == LAND_LEFT else -1
        side = -land_side if config.baseline_offset_m > 0 else land_side  # towards the shorelines
        transects = []
        for baseline in baselines:
            transects += cast_transects(baseline, config.spacing_m, config.length_m, lines, len(transects), side)
        seaward_by_baseline = {baseline.baseline_id: 1 if config.baseline_offset_m > 0 else -1
                               for baseline in baselines}
    if not transects:
        raise InputError("No transect could be cast: the baseline is shorter than SPACING or empty.")
    hooks.progress(20)
    hooks.check_cancel()

    transect_index, line_index, points, distances, cross = crossings(
        np.array([transect.coords for transect in transects]), lines)
    hooks.progress(50)
    seaward = _seaward_signs(transects, transect_index, cross, config.sea_side, seaward_by_baseline)
    _check_line_directions(transect_index, line_index, cross, seaward, shorelines, config.sea_side, hooks)
    by_pair = defaultdict(list)
    for crossing, (transect, line) in enumerate(zip(transect_index, line_index)):
        by_pair[transect, shorelines[line].when].append(crossing)

    measurements_by_transect = defaultdict(list)
    for (index, when), found in sorted(by_pair.items(), key=lambda item: (item[0][0], item[0][1])):
        measurements_by_transect[index].append(_measure(
            transects[index], seaward[index], when, found, line_index, points, distances, shorelines, levels,
            config))
    results, measurements = [], []
    for index, transect in enumerate(transects):
        if index % 200 == 0:
            hooks.check_cancel()
            hooks.progress(50 + 45 * index / len(transects))
        series = measurements_by_transect.get(index, [])
        stats = change_statistics([item.year for item in series], [item.position_m for item in series],
                                  [item.uncertainty_m for item in series])
        results.append(TransectResult(transect, seaward[index], stats,
                                      sum(1 for item in series if item.n_crossings > 1)))
        measurements += series
    _summarise(results, shorelines, lines, config, hooks)
    hooks.progress(100)
    return ChangeResult(results, measurements, baselines, dates, levels, hooks.notes, hooks.warnings)


def _automatic_baselines(shorelines, dates, lines, config: ChangeConfig) -> list[Baseline]:
    if config.sea_side not in (LAND_LEFT, LAND_RIGHT):
        raise InputError("Without a BASELINE the sea side must come from the lines' direction (SEA_SIDE land on the "
                         "left or right of the lines); give a baseline layer to use its side instead.")
    if config.baseline_offset_m == 0:
        raise InputError("The automatic baseline needs a non-zero BASELINE_OFFSET: positive places it onshore, "
                         "negative offshore of the mean shoreline.")
    by_date = defaultdict(list)
    for shoreline, coords in zip(shorelines, lines):
        by_date[shoreline.when].append(coords)
    reference = max(dates, key=lambda when: sum(np.hypot(*np.diff(line, axis=0).T).sum() for line in by_date[when]))
    others = [by_date[when] for when in dates if when != reference]
    land_side = 1 if config.sea_side == LAND_LEFT else -1
    baselines = automatic_baselines(by_date[reference], others, config.spacing_m, config.length_m,
                                    config.baseline_offset_m, land_side)
    if not baselines:
        raise InputError(f"No automatic baseline: the lines of {reference:%Y-%m-%d} are shorter than two SPACING "
                         f"({config.spacing_m:g} m). Lower SPACING or give a BASELINE.")
    return baselines


def _seaward_signs(transects: list[Transect], transect_index, cross, sea_side: str,
                   seaward_by_baseline: dict[int, int]) -> np.ndarray:
    """+1 where a transect points to sea. Lines with land on their left cross a seaward transect from its left to
    its right (cross < 0); each transect takes the majority of its crossings, a tie its baseline's majority."""
    if seaward_by_baseline:
        return np.array([seaward_by_baseline[transect.baseline_id] for transect in transects])
    votes = np.sign(-cross) if sea_side == LAND_LEFT else np.sign(cross)
    per_transect = np.bincount(transect_index, weights=votes, minlength=len(transects))
    baseline_ids = np.array([transect.baseline_id for transect in transects])
    per_baseline = {baseline: np.sign(per_transect[baseline_ids == baseline].sum()) or 1
                    for baseline in set(baseline_ids.tolist())}
    return np.array([int(np.sign(vote)) or per_baseline[baseline] for vote, baseline in zip(per_transect,
                                                                                          baseline_ids)])


def _measure(transect: Transect, seaward: int, when: datetime, found: list[int], line_index, points, distances,
             shorelines: list[Shoreline], levels: dict, config: ChangeConfig) -> Measurement:
    """One date on one transect: the intersection rule picks among several crossings."""
    positions = seaward * distances[found]
    if config.intersection == MEDIAN:
        position = float(np.median(positions))
        chosen_lines = line_index[found]
        point = transect.origin + seaward * position * transect.direction
    else:
        pick = int(np.argmax(positions) if config.intersection == SEAWARD else np.argmin(positions))
        position = float(positions[pick])
        chosen_lines = line_index[[found[pick]]]
        point = points[found[pick]]
    uncertainties = [shorelines[line].uncertainty_m for line in chosen_lines]
    uncertainty = max((value for value in uncertainties if value is not None and value > 0),
                      default=config.default_uncertainty_m)
    correction = None
    if config.tide is not None:
        slope = transect.slope if transect.slope is not None else config.tide.slope
        correction = tide_correction(levels[when], config.tide.reference_m, slope)
    return Measurement(transect.transect_id, when, decimal_year(when), np.asarray(point, float),
                       float(seaward * position), position + (correction or 0.0), correction, float(uncertainty),
                       len(found), ", ".join(sorted({shorelines[line].source for line in chosen_lines})))


def _tide_levels(shorelines: list[Shoreline], tide: TideSettings) -> dict[datetime, float]:
    """The water level of each date: from the CSV table, else from the lines (the dates' lines must agree)."""
    levels, missing = {}, set()
    for shoreline in shorelines:
        level = level_at(tide.levels, shoreline.when) if tide.levels else shoreline.tide_level
        if level is None or not np.isfinite(level):
            missing.add(shoreline.when)
        elif shoreline.when in levels and not np.isclose(levels[shoreline.when], level):
            raise InputError(f"Lines of {shoreline.when:%Y-%m-%d %H:%M} carry different water levels "
                             f"({levels[shoreline.when]:g} and {level:g}); one date has one level.")
        else:
            levels[shoreline.when] = float(level)
    if missing:
        listed = ", ".join(f"{when:%Y-%m-%d %H:%M}" for when in sorted(missing))
        where = "the tide CSV (rows around each date, at most a day apart)" if tide.levels else "the tide field"
        raise InputError(f"No water level for {listed} in {where}. Add the levels, or leave the tide correction off.")
    return levels


def _check_line_directions(transect_index, line_index, cross, seaward: np.ndarray, shorelines: list[Shoreline],
                           sea_side: str, hooks: RunHooks) -> None:
    """Warn where SEA_SIDE reads the sea from the lines' direction but many dates' lines run the other way (lines
    digitized by hand, as DSAS, QSCAT or CoastSat sets are, run either way)."""
    if sea_side not in (LAND_LEFT, LAND_RIGHT) or len(cross) == 0:
        return
    votes = (np.sign(-cross) if sea_side == LAND_LEFT else np.sign(cross)) * seaward[transect_index]
    net = defaultdict(float)
    for transect, line, vote in zip(transect_index, line_index, votes):
        net[transect, shorelines[line].when] += vote
    crossed = {transect for transect, _when in net}
    against = {transect for (transect, _when), total in net.items() if total < 0}
    if len(against) > AGAINST_SHARE * len(crossed):
        stated, other = ("left", "right") if sea_side == LAND_LEFT else ("right", "left")
        hooks.warning(f"On {len(against)} of {len(crossed)} transects a date's lines run with land on their {other}, "
                      f"against SEA_SIDE (land on the {stated}): the rates' signs may be wrong there. For lines that "
                      "Extract coastline did not write (DSAS, QSCAT, CoastSat), set SEA_SIDE to where the baseline "
                      "lies (on land or at sea).")


def _summarise(results: list[TransectResult], shorelines: list[Shoreline], lines: list[np.ndarray],
               config: ChangeConfig, hooks: RunHooks) -> None:
    measured = [result for result in results if result.stats.n_dates >= 2]
    if not measured:
        raise InputError("No transect crosses lines of two dates. " + _sparse_causes(results, shorelines, lines,
                                                                                     config))
    hooks.note(f"{len(results)} transects, {len(measured)} with two dates or more.")
    if len(measured) < SPARSE_SHARE * len(results):
        hooks.warning(f"Only {len(measured)} of {len(results)} transects cross lines of two dates or more; the other "
                      f"{len(results) - len(measured)} give no rate. " + _sparse_causes(results, shorelines, lines,
                                                                                        config))
    multiple = sum(1 for result in results if result.multi_dates)
    if multiple:
        hooks.warning(f"{multiple} transect(s) cross a date's lines more than once; the {config.intersection} "
                      "crossing was kept (field multi_dates counts the dates).")
    rates = [result.stats.lrr_m_yr for result in measured if result.stats.lrr_m_yr is not None]
    if rates:
        hooks.note(f"LRR median {np.median(rates):+.2f} m/yr, from {min(rates):+.2f} to {max(rates):+.2f} m/yr "
                   "(positive = seaward).")
    groups = sorted({result.transect.group for result in results if result.transect.group is not None})
    for group in groups:
        members = [result for result in results if result.transect.group == group]
        rated = [result.stats.lrr_m_yr for result in members if result.stats.lrr_m_yr is not None]
        median = f", LRR median {np.median(rated):+.2f} m/yr" if rated else ""
        hooks.note(f"Group {group}: {len(members)} transects, "
                   f"{sum(1 for result in members if result.stats.n_dates >= 2)} with two dates or more{median}.")


def _sparse_causes(results: list[TransectResult], shorelines: list[Shoreline], lines: list[np.ndarray],
                  config: ChangeConfig) -> str:
    """Why transects cross fewer than two dates, from probes as long as the whole scene cast from each such
    transect's origin, ahead and behind: too short, lines behind the baseline, one date only, or no line at all."""
    sparse = [result.transect for result in results if result.stats.n_dates < 2]
    origins = np.array([transect.origin for transect in sparse])
    directions = np.array([transect.direction for transect in sparse])
    lengths = np.array([transect.length_m for transect in sparse])
    reach = extent_diagonal([origins, *lines]) + lengths.max()
    need_ahead, dates_ahead = _second_date_distance(origins, directions, reach, shorelines, lines)
    need_behind, dates_behind = _second_date_distance(origins, -directions, reach, shorelines, lines)
    too_short = np.isfinite(need_ahead)
    behind = ~too_short & np.isfinite(need_behind)
    one_date = ~too_short & ~behind & (np.maximum(dates_ahead, dates_behind) == 1)
    no_line = (dates_ahead == 0) & (dates_behind == 0)
    causes = []
    if too_short.any():
        needed = float(np.percentile(need_ahead[too_short], 90))
        suggestion = 10.0 * np.ceil(1.1 * needed / 10.0)
        reaching = (f"LENGTH ({config.length_m:g} m); set it" if np.allclose(lengths, config.length_m)
                    else "LENGTH or their baseline's DSAS_search; set them")
        causes.append(f"{too_short.sum()} are too short: they would cross a second date's lines up to {needed:.0f} m "
                      f"from the baseline (90th percentile), beyond {reaching} to at least {suggestion:g} m")
    if behind.any():
        causes.append(f"{behind.sum()} have the lines behind the baseline (the transects point away from them): the "
                      "baseline crosses the lines there; move it to one side of every line")
    if one_date.any():
        causes.append(f"{one_date.sum()} reach one date's lines only: the dates cover different stretches of the "
                      "coast, or the baseline runs beyond the lines")
    if no_line.any():
        causes.append(f"{no_line.sum()} cross no line at any length: the baseline does not run along the lines "
                      "there (check that both cover the same coast)")
    return "Likely causes: " + "; ".join(causes) + "."


def _second_date_distance(origins: np.ndarray, directions: np.ndarray, reach: float, shorelines: list[Shoreline],
                          lines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per probe from `origins` along `directions`: the distance to the second nearest date's line (inf where
    fewer than two dates cross) and how many dates cross."""
    probe, line, _points, distances, _cross = crossings(np.stack([origins, origins + reach * directions], axis=1),
                                                        lines)
    nearest = {}
    for index, line_number, distance in zip(probe, line, distances):
        key = (index, shorelines[line_number].when)
        nearest[key] = min(nearest.get(key, np.inf), distance)
    by_probe = defaultdict(list)
    for (index, _when), distance in nearest.items():
        by_probe[index].append(distance)
    second = np.array([sorted(by_probe[index])[1] if len(by_probe[index]) >= 2 else np.inf
                       for index in range(len(origins))])
    return second, np.array([len(by_probe[index]) for index in range(len(origins))])
