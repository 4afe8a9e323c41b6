"""Input and output at the edges of the engine: scenes (GDAL, products, scale, georeferencing), vector files,
pictures."""
