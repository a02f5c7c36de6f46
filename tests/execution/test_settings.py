"""Execution settings: every bad value is refused with its key."""

from __future__ import annotations

import pytest

from bitunix.core.errors import ConfigError
from bitunix.execution import ExecutionSettings


@pytest.mark.parametrize(("key", "value"), [
    ("ack_timeout_s", 0.0), ("silence_s", float("nan")), ("sweep_interval_s", -1.0),
    ("entry_timeout_s", -0.1), ("reconcile_interval_s", float("inf")),
    ("max_submit_attempts", 0), ("protect_attempts", 0), ("keep_terminal", 0),
])
def test_bad_values_are_refused_naming_the_key(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"execution.{key}"):
        ExecutionSettings(**{key: value})  # type: ignore[arg-type]


def test_backoff_doubles_up_to_the_cap_and_honours_the_venue_hint() -> None:
    s = ExecutionSettings(retry_backoff_s=0.1, retry_backoff_max_s=0.5)
    assert [s.backoff(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.5]
    assert s.backoff(1, retry_after_s=2.0) == 2.0
    assert s.backoff(0) == 0.1
