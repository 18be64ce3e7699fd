"""partnerkit's pytest plugin: a host's failing contract shows the values it compared.

These run pytest in a subprocess, as a host's own test run would: a fresh
interpreter, plugins found through their entry points, and the conformance suite
imported for the first time by the host's test module.
"""

import importlib.metadata

import pytest

pytest_plugins = ["pytester"]

#: A host's adapter with one bug, held to one contract, as docs/testing.md shows.
HOST_MODULE = """
    import pytest

    from partnerkit.storage import AppendResult
    from partnerkit.storage.memory import MemoryStorage
    from partnerkit.testing.conformance import ActivityLedgerContract


    class CountingLedger:
        # Reports every appended activity as added, duplicates included.
        def __init__(self, ledger):
            self.ledger = ledger

        def __getattr__(self, name):
            return getattr(self.ledger, name)

        def append(self, activities):
            batch = list(activities)
            self.ledger.append(batch)
            return AppendResult(added=len(batch), duplicates=0)


    class CountingWork:
        def __init__(self, work):
            self.work = work
            self.activities = CountingLedger(work.activities)

        def __getattr__(self, name):
            return getattr(self.work, name)

        def __enter__(self):
            self.work.__enter__()
            return self

        def __exit__(self, *exc_info):
            return self.work.__exit__(*exc_info)


    class CountsEveryRow(MemoryStorage):
        def unit_of_work(self):
            return CountingWork(super().unit_of_work())


    class TestCountsEveryRow(ActivityLedgerContract):
        @pytest.fixture
        def storage(self):
            store = CountsEveryRow()
            yield store
            store.close()
"""

FAILING_TEST = "test_append_is_idempotent_within_a_batch"
#: What the failure says with the plugin: the contract's words, then both values.
WORDS = "AssertionError: AppendResult (added, duplicates)"
VALUES = "assert (3, 0) == (2, 1)"


def run_host(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_host=HOST_MODULE)
    result = pytester.runpytest_subprocess("-k", FAILING_TEST, *args)
    result.assert_outcomes(failed=1)
    return result


def test_the_plugin_is_installed_as_a_pytest_entry_point() -> None:
    plugins = {
        entry.name: entry.value for entry in importlib.metadata.entry_points(group="pytest11")
    }
    assert plugins.get("partnerkit") == "partnerkit.testing.pytest_plugin"


def test_a_hosts_failing_contract_shows_both_values(pytester: pytest.Pytester) -> None:
    result = run_host(pytester)
    result.stdout.fnmatch_lines([f"E *{WORDS}", f"E *{VALUES}"])


def test_loaded_by_name_the_plugin_explains_failures_without_autoloading(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = run_host(pytester, "-p", "partnerkit.testing.pytest_plugin")
    result.stdout.fnmatch_lines([f"E *{WORDS}", f"E *{VALUES}"])


def test_without_the_plugin_a_failure_has_only_the_contracts_words(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control for the two tests above: nothing else makes pytest explain it.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = run_host(pytester)
    result.stdout.fnmatch_lines([f"E *{WORDS}"])
    result.stdout.no_fnmatch_line(f"*{VALUES}*")
