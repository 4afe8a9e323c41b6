"""Otsu's threshold on dB values, from samples or a streamed histogram."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

NO_CONTRAST = "The scene has no contrast between sea and land (all valid pixels are equal)."


def otsu_threshold(values: np.ndarray, bins: int = 512) -> float:
    """Otsu's threshold of the finite values (between-class variance maximised on a histogram)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError("No valid pixels to threshold.")
    low, high = np.percentile(finite, [0.1, 99.9])
    if high <= low:
        raise InputError(NO_CONTRAST)
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return otsu_of_histogram(counts, edges)


def otsu_of_histogram(counts: np.ndarray, edges: np.ndarray) -> float:
    """The bin centre that maximises the between-class variance of a histogram."""
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centres[np.nanargmax(between)])


class DbHistogram:
    """Counts of dB values in 1/1024 dB bins from -512 to +512 dB (8 MB whatever the scene size), fed strip by
    strip; values beyond are counted in the end bins. Gives otsu_threshold's result to within one of its bins."""

    LOW, STEP, BINS = -512.0, 1.0 / 1024, 1 << 20

    def __init__(self):
        self.counts = np.zeros(self.BINS, np.int64)

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)].astype(np.float64)
        if finite.size == 0:
            return
        index = np.clip(np.floor((finite - self.LOW) / self.STEP), 0, self.BINS - 1).astype(np.int64)
        first = int(index.min())
        counted = np.bincount(index - first)
        self.counts[first:first + len(counted)] += counted

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentiles(self, quantiles: list[float]) -> list[float]:
        """As np.percentile (linear between order statistics), each order statistic at its bin's centre."""
        cumulative = np.cumsum(self.counts)
        total = int(cumulative[-1])

        def order_statistic(rank: int) -> float:
            return self.LOW + (int(np.searchsorted(cumulative, rank, side="right")) + 0.5) * self.STEP

        values = []
        for quantile in quantiles:
            position = (total - 1) * quantile / 100.0
            rank = int(position)
            value = order_statistic(rank)
            if rank + 1 < total:
                value += (position - rank) * (order_statistic(rank + 1) - value)
            values.append(value)
        return values

    def otsu_threshold(self, bins: int = 512) -> float:
        """otsu_threshold of the values counted: the same percentile range and bins, from the fine counts."""
        if self.total == 0:
            raise InputError("No valid pixels to threshold.")
        low, high = self.percentiles([0.1, 99.9])
        if high <= low:
            raise InputError(NO_CONTRAST)
        filled = np.flatnonzero(self.counts)
        centres = self.LOW + (filled + 0.5) * self.STEP
        counts, edges = np.histogram(centres, bins=bins, range=(low, high), weights=self.counts[filled])
        return otsu_of_histogram(counts, edges)
