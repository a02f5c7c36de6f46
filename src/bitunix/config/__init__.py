"""bitunix.config (package)."""
