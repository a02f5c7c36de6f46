"""bitunix.obs (package)."""
