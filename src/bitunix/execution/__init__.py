"""bitunix.execution (package)."""
