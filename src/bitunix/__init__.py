"""bitunix: a latency-optimised trading bot for Bitunix USDT-M perpetual futures.

The package is layered: ``core`` and ``wire`` at the bottom, pure domain logic
(``model``, ``features``, ``strategy``, ``risk``) above them, I/O at the edges
(``exchange``, ``sim``, ``store``, ``obs``) and the wiring in ``app`` and ``cli``.
Importing ``bitunix`` itself is cheap: the native core loads with ``bitunix.features``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
