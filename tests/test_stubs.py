"""The native module's stub (_native.pyi) matches the compiled module."""

from __future__ import annotations

import subprocess
import sys


def test_stubtest_finds_no_difference() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "bitunix._native"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
