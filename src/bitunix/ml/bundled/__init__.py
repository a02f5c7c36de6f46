"""The default OVIR-X model shipped inside the package (``model.onnx`` + ``manifest.json``).

Built by ``bitunix-bot train --promote --bundle src/bitunix/ml/bundled`` from the bundled
BTCUSDT and ETHUSDT captures (seeded, reproducible); the same files are registered and
active in the repository's ``models/`` registry. ``bitunix-bot models install-default``
registers this copy into any registry directory.
"""

from __future__ import annotations

from pathlib import Path


def bundled_model_dir() -> Path:
    """Directory of the shipped default model."""
    return Path(__file__).parent
