"""The engine: plain Python (numpy, scipy, GDAL, torch). Nothing here imports QGIS."""
