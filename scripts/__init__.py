"""Command-line entry points that run without a QGIS session (demo, benchmarks helpers)."""
