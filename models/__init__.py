"""Model definitions, the model-file format and its metadata (later issues)."""
