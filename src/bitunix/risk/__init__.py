"""bitunix.risk (package)."""
