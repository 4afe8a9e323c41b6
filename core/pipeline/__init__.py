"""The runs: extract one scene, batches of scenes, and the command line."""
