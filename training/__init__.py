"""Datasets, augmentation, losses and the training loop (later issues)."""
