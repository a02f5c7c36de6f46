"""Errors of the model layer: a model that cannot be loaded, trusted or served."""

from __future__ import annotations

from bitunix.core.errors import BitunixError


class ModelError(BitunixError):
    """Base class of model runtime, registry and training errors."""


class ModelLoadError(ModelError):
    """A model file is missing, corrupt, of the wrong shape, or its runtime is not installed."""


class FeatureMismatchError(ModelError):
    """A model expects other features (names or order) than the FeatureEngine produces."""


class RegistryError(ModelError):
    """A registry operation is impossible: unknown model, nothing to roll back to, bad index."""


class TrainingError(ModelError):
    """Training cannot proceed: too few samples, a single class, a missing optional extra."""
