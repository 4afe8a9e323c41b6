"""Model inference over a scene: tile grid, model inputs, batched predictor, streaming merger."""
