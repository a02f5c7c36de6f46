"""The Python examples in docs/ run and their assertions hold.

A page opts in with the line ``<!-- examples are tested -->``; its ``python`` blocks that
import bitunix are executed, each in a fresh namespace.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
MARKER = "<!-- examples are tested -->"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
EXAMPLES = [
    pytest.param(code, id=f"{path.name}:{n}")
    for path in sorted(DOCS.glob("*.md"))
    if MARKER in path.read_text()
    for n, code in enumerate(BLOCK.findall(path.read_text()), 1)
    if "from bitunix" in code
]


@pytest.mark.parametrize("code", EXAMPLES)
def test_doc_example_runs(code: str) -> None:
    exec(compile(code, "<docs example>", "exec"), {})


def test_docs_have_examples() -> None:
    assert any("features.md" in p.id for p in EXAMPLES)  # type: ignore[operator]
