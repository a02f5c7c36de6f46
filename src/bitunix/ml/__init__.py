"""bitunix.ml (package)."""
