"""Fixtures of the live-view tests: the capture slice of the app tests."""

from tests.app.conftest import capture_slice  # noqa: F401 (a fixture)
