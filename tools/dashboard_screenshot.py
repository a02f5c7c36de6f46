"""Regenerate ``docs/dashboard.png``: the risk dashboard in headless Chromium while a paper
bot trades on the simulator.

It runs the browser test (``tests/obs/test_dashboard_browser.py``), which takes the
screenshot anyway, and asks it to copy the picture to ``--out``; the test alone never
writes under ``docs/``. Run from the repository root: ``.venv/bin/python
tools/dashboard_screenshot.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/obs/test_dashboard_browser.py::test_the_dashboard_shows_the_bots_state_live"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"),
                        help="where the PNG goes (default docs/dashboard.png)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    env = dict(os.environ, BITUNIX_DASHBOARD_SCREENSHOT=str(out))
    code = subprocess.call([sys.executable, "-m", "pytest", TEST, "-q", "--no-cov",
                            "-p", "no:cacheprovider"], cwd=ROOT, env=env)
    if code == 0:
        print(f"wrote {out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
