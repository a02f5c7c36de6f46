"""The locks in requirements/ pin, with hashes, versions the package's own bounds allow, and
the environment running these tests is the locked one."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;\\]+)(?: ; (?P<marker>[^\\]+?))?"
                 r" \\$")
HASH = re.compile(r"^    --hash=sha256:[0-9a-f]{64}")


def _lock(name: str) -> dict[str, tuple[str, str | None]]:
    """{canonical name: (version, marker)} of a lock; every pin must carry hashes."""
    pins: dict[str, tuple[str, str | None]] = {}
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("#", " ")) or not line:
            continue
        m = PIN.match(line)
        assert m, f"{name}: not an exact pin with hashes: {line!r}"
        assert HASH.match(lines[i + 1]), f"{name}: {m['name']} has no hash"
        pins[canonicalize_name(m["name"])] = (m["version"], m["marker"])
    return pins


def _project() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"run": [Requirement(r) for r in project["dependencies"]]}
    for extra, reqs in project["optional-dependencies"].items():
        groups[extra] = [Requirement(r) for r in reqs if not r.startswith("bitunix-bot")]
    return groups


def _check_pinned(reqs: list[Requirement], pins: dict[str, tuple[str, str | None]]) -> None:
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate():
            continue
        version, _ = pins[canonicalize_name(req.name)]
        assert req.specifier.contains(version, prereleases=True), (req, version)


def test_run_lock_pins_every_runtime_dependency_within_its_bounds() -> None:
    groups, pins = _project(), _lock("lock-run.txt")
    _check_pinned(groups["run"], pins)
    assert "pytest" not in pins  # the run environment carries no test tools


def test_test_lock_pins_every_dependency_and_agrees_with_the_run_lock() -> None:
    groups, pins = _project(), _lock("lock-test.txt")
    for reqs in groups.values():
        _check_pinned(reqs, pins)
    run = _lock("lock-run.txt")
    assert {name: pins[name][0] for name in run} == {name: v for name, (v, _) in run.items()}


def test_build_lock_pins_the_wheel_and_lock_tools() -> None:
    pins = _lock("lock-build.txt")
    for line in (ROOT / "requirements" / "build.in").read_text().splitlines():
        if line and not line.startswith("#"):
            req = Requirement(line)
            assert req.specifier.contains(pins[canonicalize_name(req.name)][0])


def test_this_environment_is_the_locked_one() -> None:
    wrong = {}
    for name, (version, marker) in _lock("lock-test.txt").items():
        if marker is not None and not Marker(marker).evaluate():
            continue
        installed = metadata.version(name)
        if installed != version:
            wrong[name] = (installed, version)
    assert wrong == {}, "installed != locked; run `make venv`"


def test_bad_lock_lines_are_caught() -> None:
    assert PIN.match("numpy==2.4.6 \\")
    assert PIN.match("uvloop==0.23.0 ; sys_platform != 'win32' \\")["marker"] == (  # type: ignore[index]
        "sys_platform != 'win32'")
    assert not PIN.match("numpy>=2 \\")
    assert not PIN.match("numpy==2.4.6")  # no hashes follow
