"""Fail when any bitunix package is below the line-coverage floor.

Reads the JSON report of pytest-cov and groups files by their package directly under
``bitunix`` (top-level modules count as ``bitunix``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import PurePath


def package_of(path: str) -> str:
    parts = PurePath(path).parts
    idx = len(parts) - 1 - list(reversed(parts)).index("bitunix")
    rest = parts[idx + 1 :]
    return "bitunix" if len(rest) <= 1 else f"bitunix.{rest[0]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--min", type=float, default=90.0)
    args = parser.parse_args()
    with open(args.report) as fh:
        files = json.load(fh)["files"]
    covered: dict[str, int] = defaultdict(int)
    statements: dict[str, int] = defaultdict(int)
    for path, data in files.items():
        pkg = package_of(path)
        covered[pkg] += data["summary"]["covered_lines"]
        statements[pkg] += data["summary"]["num_statements"]
    failed = False
    print(f"{'package':<24}{'lines':>8}{'covered':>10}")
    for pkg in sorted(statements):
        pct = 100.0 * covered[pkg] / statements[pkg] if statements[pkg] else 100.0
        mark = "" if pct >= args.min else f"  < {args.min:.0f}%"
        failed |= pct < args.min
        print(f"{pkg:<24}{statements[pkg]:>8}{pct:>9.1f}%{mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
