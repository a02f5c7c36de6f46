"""bitunix.store (package)."""
