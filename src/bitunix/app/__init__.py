"""bitunix.app (package)."""
