"""bitunix.exchange (package)."""
