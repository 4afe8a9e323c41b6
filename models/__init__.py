"""Model files (safetensors weights + metadata), the network registry and ensemble manifests; default/ holds the
bundled model."""
