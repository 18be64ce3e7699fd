"""Every Python code block in README.md and docs/*.md runs as a test.

Blocks of one file run in order in one shared namespace, like a notebook. A block
with ``>>>`` prompts is checked as a doctest (output must match); any other
``python`` block is executed and must not raise. A block fenced as
``python skip`` is shown but not run.
"""

import doctest
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 2, match["body"]) for match in FENCE.finditer(text)
    ]


def test_the_docs_have_code_to_run() -> None:
    assert sum(len(blocks(page)) for page in PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for line, body in blocks(page):
        name = f"{page.name}:{line}"
        if ">>>" in body:
            test = parser.get_doctest(body, namespace, name, str(page), line - 1)
            result = runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest ran on a copy; carry its names on
            assert result.failed == 0, f"{name}: doctest failed (see the output above)"
        else:
            exec(compile(body, name, "exec"), namespace)  # noqa: S102 - running our own docs
