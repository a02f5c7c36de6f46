"""bitunix.model (package)."""
