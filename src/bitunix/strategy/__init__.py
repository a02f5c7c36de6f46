"""bitunix.strategy (package)."""
