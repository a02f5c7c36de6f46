"""Every Python example in docs/ runs and its assertions hold.

Each ```python block of every page is executed in a fresh namespace, in an empty working
directory. A block may use ``await`` / ``async with`` at top level, as in an asyncio REPL:
it then runs on its own event loop. Examples that need a server start the simulator on
127.0.0.1 themselves (``SimServer``), so a reader can paste any of them as they are.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXAMPLES = [
    pytest.param(code, id=f"{path.name}:{n}")
    for path in sorted(DOCS.glob("*.md"))
    for n, code in enumerate(BLOCK.findall(path.read_text()), 1)
]


def run_example(code: str) -> dict[str, object]:
    """Execute one example; return its namespace."""
    compiled = compile(code, "<docs example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    result = eval(compiled, namespace)  # a coroutine when the block awaits
    if inspect.iscoroutine(result):
        asyncio.run(asyncio.wait_for(result, timeout=60))
    return namespace


@pytest.mark.parametrize("code", EXAMPLES)
def test_doc_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_example(code)


def test_every_page_with_code_has_its_examples_collected() -> None:
    pages = {p.id.split(":")[0] for p in EXAMPLES}  # type: ignore[union-attr]
    assert {"features.md", "signal.md", "connectivity.md", "simulator.md"} <= pages


def test_top_level_await_runs_and_failures_surface() -> None:
    namespace = run_example("import asyncio\nawait asyncio.sleep(0)\nx = 1\n")
    assert namespace["x"] == 1
    with pytest.raises(AssertionError):
        run_example("await __import__('asyncio').sleep(0)\nassert 1 == 2\n")
    with pytest.raises(ZeroDivisionError):
        run_example("1 / 0\n")
