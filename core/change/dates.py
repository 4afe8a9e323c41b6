"""Acquisition dates: from a field value, from product names (Sentinel-1, ALOS-2) or a user's file-name pattern."""

from __future__ import annotations

import re
from datetime import date, datetime

from ..errors import InputError

DAYS_PER_YEAR = 365.2425  # the Gregorian mean year: rates are per year of 365.2425 days

# Sentinel-1: S1A_IW_GRDH_1SDV_20210304T052345_20210304T052410_... (the first timestamp: the start).
SENTINEL1 = re.compile(r"S1[ABCD]_[A-Z0-9]{2}_[A-Z0-9_]*?_(\d{8}T\d{6})_")
# ALOS-2 scene ids: ALOS2<orbit 5><frame 4>-<YYMMDD>, e.g. ALOS2014410740-140829.
ALOS2 = re.compile(r"ALOS2\d{9}-(\d{6})")
# A plain date or date-time somewhere in a name: 2021-03-04, 2021_03_04, 20210304, 20210304T052345.
ISO_IN_NAME = re.compile(r"(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?:[T_ ]?(\d{2})(\d{2})(\d{2}))?(?!\d)")

# DSAS and QSCAT store a shoreline's date as text in DSAS_date, month first (DSAS user guide), sometimes with a time.
DSAS_DATE_FIELD = "DSAS_date"
DSAS_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p")

PATTERN_CODES = {"%Y": r"\d{4}", "%y": r"\d{2}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}",
                 "%S": r"\d{2}", "%j": r"\d{3}", "%%": "%"}


def parse_date(value, formats: tuple[str, ...] = ()) -> datetime | None:
    """A field value as a datetime: date/datetime objects, ISO text ('2021-03-04', '2021-03-04T05:23:45Z'),
    GDAL/TIFF text ('2021:03:04 05:23:45') or compact text ('20210304'); text in one of `formats` (strptime, e.g.
    DSAS_DATE_FORMATS or the user's DATE_FORMAT) first. None for empty values; InputError for text that is no date
    (without a stated format, day/month orders are ambiguous and refused)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if not text or text.upper() in ("NULL", "NONE", "NAN"):
        return None
    for stated in formats:
        try:
            return datetime.strptime(text, stated)
        except ValueError:
            continue
    found = _iso_date(text)
    if found is not None:
        return found
    if formats:
        with_time = " (with or without a time)" if len(formats) > 1 else ""
        raise InputError(f"'{text}' does not match the date format {formats[0]}{with_time}, nor ISO (2021-03-04). "
                         "Correct the value, or set DATE_FORMAT to the format the field uses (e.g. %d.%m.%Y).")
    raise InputError(f"'{text}' is not a date this plugin reads. Use ISO dates such as 2021-03-04 or "
                     "2021-03-04T05:23:45 (day/month orders like 04/03/2021 are ambiguous).")


def _iso_date(text: str) -> datetime | None:
    candidate = text.replace("Z", "").replace("/", "-")
    candidate = re.sub(r"^(\d{4}):(\d{2}):(\d{2})", r"\1-\2-\3", candidate)  # TIFFTAG_DATETIME
    candidate = re.sub(r"[+-]\d{2}:?\d{2}$", "", candidate) if "T" in candidate or " " in candidate else candidate
    for parse in (datetime.fromisoformat, lambda text: datetime.strptime(text, "%Y%m%d"),
                  lambda text: datetime.strptime(text, "%Y%m%dT%H%M%S")):
        try:
            return parse(candidate).replace(tzinfo=None)
        except ValueError:
            continue
    return None


def pattern_regex(pattern: str) -> re.Pattern:
    """A strptime pattern ('%Y%m%d', 'S1_%Y-%m-%d') as a regex finding it anywhere in a name."""
    parts = re.split(r"(%[YymdHMSj%])", pattern)
    return re.compile("".join(PATTERN_CODES.get(part, re.escape(part)) for part in parts))


def date_from_name(name: str, pattern: str | None = None) -> datetime | None:
    """The acquisition date a product or file name holds: the user's strptime pattern first, then Sentinel-1
    and ALOS-2 names, then an ISO-like date (8 digits, optional separators)."""
    if not name:
        return None
    if pattern:
        match = pattern_regex(pattern).search(name)
        if match:
            try:
                return datetime.strptime(match.group(0), pattern)
            except ValueError:
                pass
    if match := SENTINEL1.search(name):
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
    if match := ALOS2.search(name):
        return datetime.strptime(match.group(1), "%y%m%d")
    for match in ISO_IN_NAME.finditer(name):
        year, month, day, hour, minute, second = match.groups()
        try:
            return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        except ValueError:
            continue
    return None


def resolve_date(value, names: tuple[str, ...] = (), pattern: str | None = None,
                 formats: tuple[str, ...] = ()) -> datetime | None:
    """The date of one line: its date field's value (text in `formats` first), else the first of `names` (scene,
    layer, file) that holds one."""
    parsed = parse_date(value, formats)
    if parsed is not None:
        return parsed
    for name in names:
        found = date_from_name(name, pattern)
        if found is not None:
            return found
    return None


def decimal_year(when: datetime) -> float:
    """Years since 0001-01-01 in mean Gregorian years: differences of these are durations in years."""
    return (when - datetime(1, 1, 1)).total_seconds() / 86400.0 / DAYS_PER_YEAR + 1.0
