"""QGIS-facing layer: the Processing provider and thin algorithm adapters over core."""
