"""Tide correction (CoastSat's rule): each position moved along its transect to a reference elevation.

correction = (water level - reference elevation) / beach slope, added to the seaward-positive position: at a
high level the water line lies landward of the reference contour, so the corrected position moves seaward.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..errors import InputError
from .dates import parse_date

MAX_GAP = timedelta(days=1)  # a level is interpolated only between rows at most this far apart


@dataclass(frozen=True)
class TideSettings:
    """Where the levels come from (a per-line value, or a CSV table) and how they are turned into metres."""

    reference_m: float = 0.0
    slope: float = 0.1  # beach slope (rise over run), used where a transect carries none
    levels: tuple[tuple[datetime, float], ...] = ()  # CSV rows (time, level), sorted; empty: per-line levels


def tide_correction(level: float, reference_m: float, slope: float) -> float:
    """Metres to add to a seaward-positive position: (level - reference) / slope."""
    if not slope > 0:
        raise InputError(f"The beach slope must be positive (rise over run, e.g. 0.1); got {slope}.")
    return (level - reference_m) / slope


def read_levels(path: str | os.PathLike) -> tuple[tuple[datetime, float], ...]:
    """Rows of a CSV of date (or date-time) and water level, with or without a header; separated by commas,
    semicolons or tabs; a decimal comma is read where the separator is not a comma."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            text = file.read()
    except OSError as error:
        raise InputError(f"Cannot read the tide levels '{path}': {error.strerror}.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = []
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in row if cell.strip()]
        if not cells:
            continue
        if len(cells) < 2:
            raise InputError(f"Tide levels '{path}', line {number}: expected a date and a level, got '{row}'.")
        try:
            when = parse_date(cells[0])
            level = float(cells[1].replace(",", ".") if delimiter != "," else cells[1])
        except (InputError, ValueError):
            if number == 1:
                continue  # a header
            raise InputError(f"Tide levels '{path}', line {number}: '{delimiter.join(cells[:2])}' is not a date "
                             "and a level in metres (e.g. 2021-03-04,0.85).") from None
        rows.append((when, level))
    if not rows:
        raise InputError(f"Tide levels '{path}' holds no rows of date and level (e.g. 2021-03-04,0.85).")
    return tuple(sorted(rows))


def level_at(levels: tuple[tuple[datetime, float], ...], when: datetime) -> float | None:
    """The level at `when`: an exact row, or linear in time between the rows around it when at most a day apart."""
    times = [row[0] for row in levels]
    index = int(np.searchsorted(np.array(times, dtype="datetime64[us]"), np.datetime64(when, "us")))
    if index < len(levels) and times[index] == when:
        return levels[index][1]
    if index == 0 or index == len(levels):
        return None
    (before, level_before), (after, level_after) = levels[index - 1], levels[index]
    if after - before > MAX_GAP:
        return None
    share = (when - before) / (after - before)
    return level_before + share * (level_after - level_before)
