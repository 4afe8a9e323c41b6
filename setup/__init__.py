"""What sets the plugin up, beside the engine: the dependency installer and the device check."""
