"""The app tests' capture slice, for the live-mode rotation runs here."""

from tests.app.conftest import capture_slice

__all__ = ["capture_slice"]
