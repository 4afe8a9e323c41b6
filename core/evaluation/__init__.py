"""Scoring lines against a reference (the competition metric) and the pictures and reports of it."""
