"""pip-audit on the locked dependencies, with the project's exceptions and an honest word
when the registry cannot be asked.

Runs ``pip-audit --require-hashes --disable-pip -f json -r LOCK...`` (the vulnerability
data of pypi.org) and reads its report:

- a known vulnerability not listed in the ignore file: one line per finding, exit 1;
- one listed there (``ID  reason``; a line without a reason is refused): printed as
  accepted with its reason, exit 0;
- the registry not reachable (no connection, a timeout, or it answered for none of the
  locked packages): ``pip-audit: registry not reachable (...), skipped``, exit 0, so an
  offline machine is not blocked; the line says that nothing was checked;
- some packages audited and others not: exit 1, naming them (a partial audit is not a
  clean one).

docs/security.md describes it; ``make lint`` and ``.ci/run`` run it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PIP_AUDIT = ".venv-tools/bin/pip-audit"
DEFAULT_IGNORE = "requirements/audit-ignore.txt"
DEFAULT_LOCKS = ("requirements/lock-run.txt", "requirements/lock-test.txt")

#: What requests / urllib3 say when the registry cannot be reached at all.
_NETWORK_ERRORS = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|NameResolutionError|"
    r"Max retries exceeded|Temporary failure in name resolution|Network is unreachable")
_VULN_ID = re.compile(r"^[A-Z][A-Z0-9]*-[A-Za-z0-9-]+$")
_NOT_FOUND = "not found on PyPI"


class AuditError(Exception):
    """A bad ignore file or an unusable pip-audit answer: one line, exit 2."""


@dataclass(frozen=True)
class Verdict:
    """What ``main`` prints and returns."""

    code: int
    lines: list[str]


def read_ignores(path: Path) -> dict[str, str]:
    """``ID  reason`` per line (``#`` comments and blank lines skipped): ID -> reason."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    ignores: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, *rest = line.split(None, 1)
        reason = rest[0] if rest else ""
        if not _VULN_ID.match(vuln_id):
            raise AuditError(f"{path} line {number}: not a vulnerability id: {vuln_id!r}")
        if not reason.strip():
            raise AuditError(f"{path} line {number}: {vuln_id} has no reason")
        ignores[vuln_id] = reason.strip()
    return ignores


def judge(report: dict[str, Any], ignores: dict[str, str]) -> Verdict:
    """The verdict on pip-audit's JSON report."""
    deps = report.get("dependencies")
    if not isinstance(deps, list) or not deps:
        raise AuditError("pip-audit: the report lists no dependencies")
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    if not audited:
        if all(_NOT_FOUND in d["skip_reason"] for d in skipped):
            return Verdict(0, [
                f"pip-audit: registry not reachable (pypi.org answered for none of the "
                f"{len(deps)} locked packages), skipped: nothing was checked"])
        return Verdict(1, [f"pip-audit: no package could be audited: "
                           f"{skipped[0]['name']}: {skipped[0]['skip_reason']}"])
    lines: list[str] = []
    code = 0
    for dep in skipped:
        code = 1
        lines.append(f"pip-audit: {dep['name']} could not be audited: {dep['skip_reason']}")
    used: set[str] = set()
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            accepted = next((i for i in ids if i in ignores), None)
            where = f"{dep['name']} {dep['version']}"
            if accepted is not None:
                used.add(accepted)
                lines.append(f"pip-audit: accepted {vuln['id']} in {where}: {ignores[accepted]}")
                continue
            code = 1
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            aliases = f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else ""
            lines.append(f"pip-audit: {where}: {vuln['id']}{aliases}, fixed in: {fixes}")
    for stale in sorted(set(ignores) - used):
        lines.append(f"pip-audit: note: {stale} is accepted in the ignore file but no locked "
                     "package has it any more: remove the line")
    found = sum(1 for line in lines if ", fixed in: " in line)
    if code == 0:
        lines.append(f"pip-audit: {len(audited)} locked packages audited against pypi.org: "
                     "no known vulnerability" + (" beyond the accepted ones"
                                                  if used else ""))
    elif found:
        lines.append(f"pip-audit: {found} known vulnerabilit{'y' if found == 1 else 'ies'}: "
                     "upgrade (make lock UPGRADE=1) or accept each with its reason in "
                     f"{DEFAULT_IGNORE}")
    return Verdict(code, lines)


def audit(pip_audit: str, locks: Sequence[str], ignores: dict[str, str],
          timeout_s: float) -> Verdict:
    """Run pip-audit and judge what it says."""
    argv = [pip_audit, "--format", "json", "--progress-spinner", "off", "--require-hashes",
            "--disable-pip"]
    for lock in locks:
        argv += ["--requirement", lock]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                check=False)
    except FileNotFoundError:
        raise AuditError(f"pip-audit: {pip_audit} not found: run `make tools`") from None
    except subprocess.TimeoutExpired:
        return Verdict(0, [f"pip-audit: registry not reachable (no answer in {timeout_s:g} s), "
                           "skipped: nothing was checked"])
    if result.stdout.strip():
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AuditError("pip-audit: its output is not JSON: "
                             f"{result.stdout.strip()[:200]}") from None
        return judge(report, ignores)
    network = _NETWORK_ERRORS.search(result.stderr)
    if result.returncode != 0 and network:
        return Verdict(0, [f"pip-audit: registry not reachable ({network.group(0)}), "
                           "skipped: nothing was checked"])
    last = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
    return Verdict(1, [f"pip-audit: failed: {last[0]}"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="*", default=list(DEFAULT_LOCKS),
                        help="hash-pinned requirement files (default: the run and test locks)")
    parser.add_argument("--pip-audit", default=DEFAULT_PIP_AUDIT)
    parser.add_argument("--ignore", default=DEFAULT_IGNORE, type=Path,
                        help="accepted vulnerabilities: `ID  reason` per line")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before the registry counts as not reachable")
    args = parser.parse_args(argv)
    try:
        verdict = audit(args.pip_audit, args.locks, read_ignores(args.ignore), args.timeout)
    except AuditError as exc:
        print(exc, file=sys.stderr)
        return 2
    for line in verdict.lines:
        print(line, file=sys.stderr if verdict.code else sys.stdout)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
