"""The adapter docs/storage.md presents is complete: the whole conformance suite passes.

The code is taken from the page itself, so the adapter a host copies is the one
tested here.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partnerkit.storage import StagedStorage, Storage
from partnerkit.testing.conformance import StorageContract

PAGE = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
FENCE = re.compile(r"^```python[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def adapter_code() -> str:
    """The one Python block of the page that defines ``DictBackend``."""
    found = [m["body"] for m in FENCE.finditer(PAGE.read_text(encoding="utf-8"))]
    (code,) = [body for body in found if "class DictBackend" in body]
    return code


def backend_class() -> Any:
    namespace: dict[str, Any] = {"__name__": "docs_storage_adapter"}
    exec(compile(adapter_code(), f"{PAGE.name}:DictBackend", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["DictBackend"]


DictBackend = backend_class()


def test_the_docs_adapter_is_a_storage() -> None:
    storage = StagedStorage(DictBackend())

    assert isinstance(storage, Storage)


class TestDocsAdapter(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[StagedStorage]:
        store = StagedStorage(DictBackend())
        yield store
        store.close()
