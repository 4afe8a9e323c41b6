"""The DSAS change statistics of one transect (DSAS v5 user guide; QSCAT uses the same definitions).

Positions are distances along the transect, positive seaward, so every rate is positive for accretion and
negative for erosion. Times are in years (see dates.decimal_year).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as scipy_stats

MIN_DATES_REGRESSION = 3  # DSAS computes LRR and WLR from three shorelines on


@dataclass(frozen=True)
class ChangeStats:
    """One transect's statistics; None where there are too few dates for it."""

    n_dates: int
    sce_m: float | None = None  # shoreline change envelope: farthest minus closest position, any dates
    nsm_m: float | None = None  # net shoreline movement: youngest minus oldest position
    epr_m_yr: float | None = None  # end point rate: NSM / years between them
    epr_unc_m_yr: float | None = None  # sqrt(u_oldest^2 + u_youngest^2) / years
    lrr_m_yr: float | None = None  # ordinary least squares slope over all dates
    lrr_r2: float | None = None  # its coefficient of determination
    lrr_se: float | None = None  # standard error of the estimate, metres (DSAS LSE)
    lrr_ci95: float | None = None  # half-width of the 95 % confidence interval of the slope (DSAS LCI)
    wlr_m_yr: float | None = None  # weighted least squares slope, weights 1 / uncertainty^2
    wlr_r2: float | None = None  # its weighted coefficient of determination (DSAS WR2)
    wlr_se: float | None = None  # weighted standard error of the estimate, sqrt(sum w r^2 / (n - 2)) (DSAS WSE)
    wlr_ci95: float | None = None  # half-width of the 95 % confidence interval of the weighted slope (DSAS WCI)

    def as_dict(self) -> dict:
        return asdict(self)


def change_statistics(years, positions, uncertainties) -> ChangeStats:
    """SCE, NSM, EPR with its uncertainty, LRR and WLR, each with R^2, standard error and 95 % CI.

    `years`: one per date (any order, distinct); `positions`: metres, positive seaward; `uncertainties`:
    metres, positive. Fewer than two dates give only n_dates; LRR and WLR need three.
    """
    years, positions, uncertainties = (np.asarray(values, float) for values in (years, positions, uncertainties))
    order = np.argsort(years)
    years, positions, uncertainties = years[order], positions[order], uncertainties[order]
    count = len(years)
    if count < 2:
        return ChangeStats(count)
    span = years[-1] - years[0]
    nsm = positions[-1] - positions[0]
    figures = {"sce_m": float(positions.max() - positions.min()), "nsm_m": float(nsm),
               "epr_m_yr": float(nsm / span),
               "epr_unc_m_yr": float(np.hypot(uncertainties[0], uncertainties[-1]) / span)}
    if count >= MIN_DATES_REGRESSION:
        figures.update(linear_regression(years, positions))
        figures.update(weighted_regression(years, positions, 1.0 / uncertainties**2))
    return ChangeStats(count, **figures)


def linear_regression(years: np.ndarray, positions: np.ndarray, confidence: float = 0.95) -> dict:
    """LRR (slope), R^2, standard error of the estimate and the slope's confidence half-width (t, n - 2 dof)."""
    slope, r2, se_estimate, ci = _regression(years, positions, np.ones_like(years), confidence)
    return {"lrr_m_yr": slope, "lrr_r2": r2, "lrr_se": se_estimate, "lrr_ci95": ci}


def weighted_regression(years: np.ndarray, positions: np.ndarray, weights: np.ndarray,
                        confidence: float = 0.95) -> dict:
    """WLR and its WR2, WSE and WCI as DSAS defines them: the same sums as LRR with each date weighted."""
    slope, r2, se_estimate, ci = _regression(years, positions, weights, confidence)
    return {"wlr_m_yr": slope, "wlr_r2": r2, "wlr_se": se_estimate, "wlr_ci95": ci}


def _regression(years, positions, weights, confidence):
    """Weighted least squares line: slope, R^2 (None where all positions are equal), standard error of the
    estimate sqrt(sum w r^2 / (n - 2)) and the slope's confidence half-width t * se / sqrt(sum w (year - mean)^2)."""
    count = len(years)
    mean_year = float(weights @ years / weights.sum())
    mean_position = float(weights @ positions / weights.sum())
    centred = years - mean_year
    sxx = float((weights * centred) @ centred)
    slope = float((weights * centred) @ (positions - mean_position) / sxx)
    residuals = positions - (mean_position + slope * centred)
    ss_residual = float((weights * residuals) @ residuals)
    ss_total = float((weights * (positions - mean_position)) @ (positions - mean_position))
    r2 = 1.0 - ss_residual / ss_total if ss_total > 0 else None
    se_estimate = float(np.sqrt(ss_residual / (count - 2)))
    t_value = scipy_stats.t.ppf(0.5 + confidence / 2, count - 2)
    return slope, r2, se_estimate, float(t_value * se_estimate / np.sqrt(sxx))
