"""From pieces of coast to the lines users get: vectorizing, the sea-only rule, edge snap, reference distance."""
