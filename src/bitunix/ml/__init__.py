"""Models for the decision layer: serving, fallback, registry, monitoring and training.

Modules (import what you need; nothing heavy loads with the package):

* ``runtime``: ``OnnxScorer`` (onnxruntime, one row, IOBinding, telemetry off),
  ``LogisticScorer``, ``Predictor`` (input guard, latency budget, demotion to "no entry",
  the rule fallback only when no model is loaded, hot swap).
* ``warmup``: warm-up rows spread over a model's training distribution.
* ``fallback``: ``RuleFallback``, the direction-aware rule scorer.
* ``manifest``, ``registry``, ``hotswap``, ``shadow``: models on disk (plain names only),
  their status, following the active one off the loop with back-off, A/B shadow scoring.
* ``drift``, ``monitor``: PSI per feature, live hit rate and calibration alerts.
* ``labels``, ``dataset``, ``train``: recorded data to a registered model (the
  scikit-learn side is the ``train`` extra, imported inside the functions).
* ``online``: a bounded, revertible online logistic learner.
* ``bundled``: the default model shipped with the package.

See ``docs/signal.md``.
"""
