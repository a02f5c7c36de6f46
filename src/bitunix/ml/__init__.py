"""Models for the decision layer: serving, fallback, registry, monitoring and training.

Modules (import what you need; nothing heavy loads with the package):

* ``runtime``: ``OnnxScorer`` (onnxruntime, one row, IOBinding), ``LogisticScorer``,
  ``Predictor`` (input guard, latency budget, demotion, fallback, hot swap).
* ``fallback``: ``RuleFallback``, the direction-aware rule scorer.
* ``manifest``, ``registry``, ``hotswap``, ``shadow``: models on disk, their status,
  following the active one, A/B shadow scoring.
* ``drift``, ``monitor``: PSI per feature, live hit rate and calibration alerts.
* ``labels``, ``dataset``, ``train``: recorded data to a registered model (the
  scikit-learn side is the ``train`` extra, imported inside the functions).
* ``online``: a bounded, revertible online logistic learner.
* ``bundled``: the default model shipped with the package.

See ``docs/signal.md``.
"""
