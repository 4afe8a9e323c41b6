"""The coastline methods: one contract (contract.py), one registry (registry.py), one module each."""
