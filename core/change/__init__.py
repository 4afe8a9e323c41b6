"""Shoreline change along transects over a time series of coastlines (DSAS / QSCAT definitions).

Plain Python like the rest of core: arrays and shapely in, dataclasses out. The one call is
`analysis.analyse_change`; the Processing adapter is ui/change_algorithm.py.
"""
