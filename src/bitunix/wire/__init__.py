"""bitunix.wire (package)."""
