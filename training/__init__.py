"""Training: labels from lines and polygons, crops and augmentation, the training loop, presets, a command line."""
