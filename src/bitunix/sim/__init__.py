"""bitunix.sim (package)."""
