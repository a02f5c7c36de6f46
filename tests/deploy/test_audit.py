"""tools/audit_deps.py: pip-audit's verdict on the locks (findings fail, accepted ones need a
reason, an unreachable registry is said and does not fail), against a stand-in pip-audit
that answers as the real one does, and the real pip-audit with the network refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tools.audit_deps import AuditError, judge, main, read_ignores

ROOT = Path(__file__).resolve().parents[2]
PIP_AUDIT = ROOT / ".venv-tools" / "bin" / "pip-audit"

VULN = {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "fix_versions": ["3.15.0"],
        "description": "a bad thing"}


def _report(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps), "fixes": []}


def _fake_pip_audit(tmp_path: Path, *, stdout: str = "", stderr: str = "",
                    code: int = 0) -> str:
    """A stand-in for pip-audit: records its arguments, prints what it is given."""
    (tmp_path / "out.txt").write_text(stdout)
    (tmp_path / "err.txt").write_text(stderr)
    script = tmp_path / "pip-audit"
    script.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\n"
        f"d = pathlib.Path({str(tmp_path)!r})\n"
        "(d / 'argv.txt').write_text('\\n'.join(sys.argv[1:]))\n"
        "sys.stdout.write((d / 'out.txt').read_text())\n"
        "sys.stderr.write((d / 'err.txt').read_text())\n"
        f"sys.exit({code})\n")
    script.chmod(0o755)
    return str(script)


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], pip_audit: str,
         ignore: str = "") -> tuple[int, str, str]:
    (tmp_path / "ignore.txt").write_text(ignore)
    code = main(["--pip-audit", pip_audit, "--ignore", str(tmp_path / "ignore.txt"),
                 "--timeout", "30", "lock-a.txt", "lock-b.txt"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_clean_audit_passes_and_says_how_many_packages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"name": "aiohttp", "version": "3.14.5", "vulns": []},
                     {"name": "numpy", "version": "2.4.6", "vulns": []})
    code, out, _ = _run(tmp_path, capsys, _fake_pip_audit(tmp_path, stdout=json.dumps(report)))
    assert code == 0
    assert out.strip() == ("pip-audit: 2 locked packages audited against pypi.org: "
                           "no known vulnerability")
    argv = (tmp_path / "argv.txt").read_text().splitlines()
    assert argv[-4:] == ["--requirement", "lock-a.txt", "--requirement", "lock-b.txt"]
    assert {"--require-hashes", "--disable-pip"} <= set(argv)
    assert argv[argv.index("--format") + 1] == "json"


def test_a_known_vulnerability_fails_naming_the_package_and_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"name": "aiohttp", "version": "3.14.5", "vulns": [VULN]},
                     {"name": "numpy", "version": "2.4.6", "vulns": []})
    fake = _fake_pip_audit(tmp_path, stdout=json.dumps(report), code=1)
    code, out, err = _run(tmp_path, capsys, fake)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == ("pip-audit: aiohttp 3.14.5: GHSA-aaaa-bbbb-cccc (CVE-2026-0001), "
                        "fixed in: 3.15.0")
    assert lines[1].startswith("pip-audit: 1 known vulnerability: upgrade")


def test_an_accepted_vulnerability_passes_with_its_reason_by_id_or_alias(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"name": "aiohttp", "version": "3.14.5", "vulns": [VULN]})
    fake = _fake_pip_audit(tmp_path, stdout=json.dumps(report), code=1)
    for listed in ("GHSA-aaaa-bbbb-cccc", "CVE-2026-0001"):
        code, out, _ = _run(tmp_path, capsys, fake,
                            ignore=f"# why\n{listed}  the bot never parses multipart bodies\n")
        assert code == 0
        assert out.splitlines() == [
            "pip-audit: accepted GHSA-aaaa-bbbb-cccc in aiohttp 3.14.5: the bot never parses "
            "multipart bodies",
            "pip-audit: 1 locked packages audited against pypi.org: no known vulnerability "
            "beyond the accepted ones"]


def test_an_exception_that_matches_nothing_is_pointed_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"name": "numpy", "version": "2.4.6", "vulns": []})
    code, out, _ = _run(tmp_path, capsys, _fake_pip_audit(tmp_path, stdout=json.dumps(report)),
                        ignore="PYSEC-2020-1  fixed long ago\n")
    assert code == 0
    assert "PYSEC-2020-1 is accepted in the ignore file but no locked package has it" in out


def test_an_exception_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ignore.txt"
    path.write_text("# header\n\nGHSA-aaaa-bbbb-cccc\n")
    with pytest.raises(AuditError, match=r"line 3: GHSA-aaaa-bbbb-cccc has no reason"):
        read_ignores(path)
    path.write_text("aiohttp  not an id\n")
    with pytest.raises(AuditError, match=r"line 1: not a vulnerability id: 'aiohttp'"):
        read_ignores(path)
    assert main(["--ignore", str(path), "--pip-audit", "/nonexistent/pip-audit"]) == 2


def test_the_projects_ignore_file_reads_and_every_entry_has_a_reason() -> None:
    ignores = read_ignores(ROOT / "requirements" / "audit-ignore.txt")
    assert all(len(reason) > 10 for reason in ignores.values())


def test_a_registry_that_answers_for_no_package_is_reported_as_not_reachable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(*({"name": n, "skip_reason": f"Dependency not found on PyPI and could not "
                        f"be audited: {n} (1.0)"} for n in ("aiohttp", "numpy", "rich")))
    code, out, _ = _run(tmp_path, capsys, _fake_pip_audit(tmp_path, stdout=json.dumps(report)))
    assert code == 0
    assert out.strip() == ("pip-audit: registry not reachable (pypi.org answered for none of "
                           "the 3 locked packages), skipped: nothing was checked")


def test_a_partial_audit_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report({"name": "aiohttp", "version": "3.14.5", "vulns": []},
                     {"name": "numpy", "skip_reason": "Dependency not found on PyPI and could "
                      "not be audited: numpy (2.4.6)"})
    code, _, err = _run(tmp_path, capsys, _fake_pip_audit(tmp_path, stdout=json.dumps(report)))
    assert code == 1
    assert err.startswith("pip-audit: numpy could not be audited: Dependency not found")


def test_a_failure_that_is_not_the_network_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = _fake_pip_audit(tmp_path, code=1, stderr=(
        "ERROR:pip_audit._cli:requirement lock-a.txt: hash mismatch for numpy\n"))
    code, _, err = _run(tmp_path, capsys, fake)
    assert code == 1
    assert err.strip() == ("pip-audit: failed: ERROR:pip_audit._cli:requirement lock-a.txt: "
                           "hash mismatch for numpy")
    assert judge(_report({"name": "x", "skip_reason": "some other reason"}), {}).code == 1
    with pytest.raises(AuditError, match="lists no dependencies"):
        judge({"dependencies": []}, {})


def test_the_real_pip_audit_offline_says_so_and_does_not_fail(tmp_path: Path) -> None:
    if not PIP_AUDIT.exists():
        pytest.fail(f"{PIP_AUDIT} is missing: run `make tools` (pip-audit lives in .venv-tools)")
    # The network refused: every request goes to a proxy on a closed local port.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "tools/audit_deps.py", "--pip-audit", str(PIP_AUDIT)], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pip-audit: registry not reachable (")
    assert result.stdout.rstrip().endswith("skipped: nothing was checked")
    assert "Traceback" not in result.stdout + result.stderr
