"""The shoreline change report: a rate map and time series of chosen transects (PNG, or HTML with tables)."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.plots import atomic_write, new_figure, png_bytes
from .analysis import ChangeResult, Shoreline, TransectResult
from .statistics import ChangeStats

MAX_SERIES = 4


def rate_of(result: TransectResult) -> float | None:
    """The rate a transect is coloured by: LRR, or EPR where there are only two dates."""
    return result.stats.lrr_m_yr if result.stats.lrr_m_yr is not None else result.stats.epr_m_yr


def choose_transects(result: ChangeResult, wanted: tuple[int, ...] = ()) -> list[TransectResult]:
    """The transects to plot: those asked for, else the fastest eroding, the fastest accreting and the median."""
    by_id = {item.transect.transect_id: item for item in result.transects}
    if wanted:
        unknown = [transect_id for transect_id in wanted if transect_id not in by_id]
        if unknown:
            raise InputError(f"Transect id(s) {', '.join(map(str, unknown))} do not exist; ids run from 0 to "
                             f"{len(result.transects) - 1}.")
        return [by_id[transect_id] for transect_id in wanted][:MAX_SERIES]
    rated = sorted((item for item in result.transects if rate_of(item) is not None), key=rate_of)
    if not rated:
        return []
    picks = [rated[0], rated[len(rated) // 2], rated[-1]]
    return list({item.transect.transect_id: item for item in picks}.values())


def _rate_map(axes, figure, result: ChangeResult, shorelines: list[Shoreline], chosen: list[TransectResult]):
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    dates = result.dates
    greys = colormaps["Greys"]
    labelled = set()
    for shoreline in shorelines:
        shade = 0.35 + 0.6 * dates.index(shoreline.when) / max(len(dates) - 1, 1)
        label = f"{shoreline.when:%Y-%m-%d}" if shoreline.when not in labelled else None
        labelled.add(shoreline.when)
        axes.plot(shoreline.coords[:, 0], shoreline.coords[:, 1], color=greys(shade), linewidth=0.8, label=label)
    for baseline in result.baselines:
        axes.plot(baseline.coords[:, 0], baseline.coords[:, 1], "k--", linewidth=0.8)
    rates = np.array([rate_of(item) if rate_of(item) is not None else np.nan for item in result.transects])
    limit = float(np.nanmax(np.abs(rates))) if np.isfinite(rates).any() else 1.0
    norm = Normalize(-max(limit, 1e-6), max(limit, 1e-6))
    segments = [item.transect.coords for item in result.transects]
    collection = LineCollection(segments, cmap=colormaps["RdBu"], norm=norm, linewidths=2.0)
    collection.set_array(np.ma.masked_invalid(rates))
    axes.add_collection(collection)
    figure.colorbar(collection, ax=axes, label="rate (m/yr): LRR, EPR with 2 dates; + seaward")
    for item in chosen:
        end = item.transect.coords[1]
        axes.annotate(str(item.transect.transect_id), end, fontsize=8, ha="center",
                      bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    axes.set_aspect("equal")
    axes.autoscale_view()
    if len(dates) <= 12:
        axes.legend(loc="best", fontsize=7, title="shorelines", title_fontsize=7)
    axes.set_title(f"Shoreline change, {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}")
    axes.ticklabel_format(useOffset=False, style="plain")
    axes.tick_params(labelsize=7)


def _series(axes, result: ChangeResult, item: TransectResult) -> None:
    series = [measurement for measurement in result.measurements
              if measurement.transect_id == item.transect.transect_id]
    years = np.array([measurement.year for measurement in series])
    positions = np.array([measurement.position_m for measurement in series])
    axes.errorbar(years, positions, yerr=[measurement.uncertainty_m for measurement in series], fmt="o",
                  color="#3070b0", markersize=4, capsize=2)
    stats = item.stats
    if stats.lrr_m_yr is not None:
        centre = years.mean()
        axes.plot(years, positions.mean() + stats.lrr_m_yr * (years - centre), color="#d03030", linewidth=1)
        label = f"LRR {stats.lrr_m_yr:+.2f} ± {stats.lrr_ci95:.2f} m/yr, R² {stats.lrr_r2 or 0:.2f}"
    elif stats.epr_m_yr is not None:
        label = f"EPR {stats.epr_m_yr:+.2f} ± {stats.epr_unc_m_yr:.2f} m/yr"
    else:
        label = "fewer than two dates"
    axes.set_title(f"transect {item.transect.transect_id}: {label}", fontsize=9)
    axes.set_ylabel("position (m, + seaward)", fontsize=8)
    axes.tick_params(labelsize=7)


def _report_figure(result: ChangeResult, shorelines: list[Shoreline], chosen: list[TransectResult]):
    rows = max(len(chosen), 1)
    figure = new_figure(13, max(6.0, 2.4 * rows))
    grid = figure.add_gridspec(rows, 2, width_ratios=(1.3, 1))
    _rate_map(figure.add_subplot(grid[:, 0]), figure, result, shorelines, chosen)
    for row, item in enumerate(chosen):
        _series(figure.add_subplot(grid[row, 1]), result, item)
    if chosen:
        figure.axes[-1].set_xlabel("year")
    figure.tight_layout()
    return figure


def summary_rows(result: ChangeResult) -> list[tuple[str, str]]:
    measured = [item for item in result.transects if item.stats.n_dates >= 2]
    rows = [("Dates", ", ".join(f"{when:%Y-%m-%d}" for when in result.dates)),
            ("Transects (with two dates or more)", f"{len(result.transects)} ({len(measured)})")]
    for label, attribute, unit in (("LRR", "lrr_m_yr", "m/yr"), ("EPR", "epr_m_yr", "m/yr"), ("NSM", "nsm_m", "m")):
        values = [getattr(item.stats, attribute) for item in measured if getattr(item.stats, attribute) is not None]
        if values:
            rows.append((f"{label}: median (min to max)",
                         f"{np.median(values):+.2f} ({min(values):+.2f} to {max(values):+.2f}) {unit}"))
    multiple = sum(1 for item in result.transects if item.multi_dates)
    rows.append(("Transects crossing a date's lines more than once", str(multiple)))
    for group in sorted({item.transect.group for item in result.transects if item.transect.group is not None}):
        members = [item for item in result.transects if item.transect.group == group]
        rates = [item.stats.lrr_m_yr for item in members if item.stats.lrr_m_yr is not None]
        rows.append((f"Group {group}: transects (with two dates or more), LRR median",
                     f"{len(members)} ({sum(1 for item in members if item.stats.n_dates >= 2)})"
                     + (f", {np.median(rates):+.2f} m/yr" if rates else "")))
    return rows


def tide_rows(result: ChangeResult) -> list[tuple[str, str, str]]:
    """Per date: the water level and the mean correction applied over its measurements."""
    rows = []
    for when in result.dates:
        corrections = [measurement.tide_correction_m for measurement in result.measurements
                       if measurement.when == when and measurement.tide_correction_m is not None]
        level = result.tide_levels.get(when)
        rows.append((f"{when:%Y-%m-%d %H:%M}", "" if level is None else f"{level:.3f}",
                     f"{np.mean(corrections):+.2f}" if corrections else ""))
    return rows


def write_change_report(path: str | os.PathLike, result: ChangeResult, shorelines: list[Shoreline],
                        transect_ids: tuple[int, ...] = (), title: str = "Shoreline change") -> Path:
    """A .png figure (rate map, time series of chosen transects) or a self-contained .html page with it, the
    summary and, when applied, the tide correction per date."""
    import base64

    path = Path(path)
    if path.suffix.lower() not in (".png", ".html", ".htm"):
        raise InputError(f"Report '{path.name}': use a .png, .html or .htm file name.")
    chosen = choose_transects(result, transect_ids)
    picture = png_bytes(_report_figure(result, shorelines, chosen))
    if path.suffix.lower() == ".png":
        return atomic_write(path, picture)

    def table(rows, header=None):
        head = "<tr>" + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + "</tr>" if header else ""
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
                       for row in rows)
        return f"<table>{head}{body}</table>"

    columns = ("transect_id", *ChangeStats.__dataclass_fields__)
    chosen_rows = [[item.transect.transect_id] + [_format(value) for value in list(item.stats.as_dict().values())]
                   for item in chosen]
    sections = [f"<h2>Summary</h2>{table(summary_rows(result))}",
                f"<h2>Chosen transects</h2>{table(chosen_rows, columns)}"]
    if result.tide_levels:
        sections.append("<h2>Tide correction</h2><p>Each position moved along its transect by (level - reference) / "
                        "slope, before the rates.</p>" + table(tide_rows(result), ("date", "water level (m)",
                                                                                   "mean correction (m)")))
    if result.warnings:
        sections.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(text)}</li>" for text in result.warnings)
                        + "</ul>")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}th,td{text-align:left;padding:0.2em 1em 0.2em 0}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{''.join(sections)}<p><img alt='rate map and time series' "
            f"style='max-width:100%' src='data:image/png;base64,{base64.b64encode(picture).decode()}'></p>"
            "</body></html>")
    return atomic_write(path, page.encode())


def _format(value) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if isinstance(value, float) else str(value)
