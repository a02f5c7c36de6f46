"""Runtime wiring: the only package that puts concrete components together."""
