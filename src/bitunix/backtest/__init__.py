"""bitunix.backtest (package)."""
