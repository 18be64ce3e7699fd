"""`import partnerkit` imports a public name's module only when the name is used."""

import subprocess
import sys

import pytest

import partnerkit


def modules_after(code: str) -> set[str]:
    """The partnerkit modules a fresh interpreter has loaded after running ``code``."""
    probe = (
        f"{code}\nimport sys\nprint(' '.join(m for m in sys.modules if m.startswith('partnerkit')))"
    )
    output = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return set(output.split())


def test_importing_the_package_loads_no_domain_module() -> None:
    assert modules_after("import partnerkit") == {"partnerkit", "partnerkit._version"}


def test_using_a_name_loads_its_module_and_not_the_others() -> None:
    loaded = modules_after("from partnerkit import Money")
    assert "partnerkit._base.money" in loaded
    assert not {"partnerkit.health", "partnerkit.tiers", "partnerkit.deals"} & loaded


def test_every_public_name_is_listed_by_dir_before_and_after_use() -> None:
    assert set(partnerkit.__all__) <= set(dir(partnerkit))
    for name in partnerkit.__all__:
        getattr(partnerkit, name)
    assert set(partnerkit.__all__) <= set(dir(partnerkit))


def test_a_lazy_name_is_the_object_its_module_defines() -> None:
    from partnerkit.health import ScoringModel  # noqa: PLC0415 - the point of the test

    assert partnerkit.ScoringModel is ScoringModel


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchName"):
        partnerkit.NoSuchName  # noqa: B018 - the lookup is the test
