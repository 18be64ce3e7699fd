import importlib
import importlib.metadata
import importlib.resources
import pkgutil

import partnerkit
import partnerkit.access
import partnerkit.attribution
import partnerkit.batch
import partnerkit.deals
import partnerkit.events
import partnerkit.forecast
import partnerkit.funds
import partnerkit.health
import partnerkit.incentives
import partnerkit.ledger
import partnerkit.metrics
import partnerkit.partners
import partnerkit.relationship
import partnerkit.report
import partnerkit.serialization
import partnerkit.services
import partnerkit.storage
import partnerkit.testing.conformance
import partnerkit.testing.strategies
import partnerkit.tiers


def isort_order(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions: the order ruff's RUF022 keeps."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return (kind, name)


def test_root_all_is_sorted_and_complete() -> None:
    assert partnerkit.__all__ == sorted(partnerkit.__all__, key=isort_order)
    for name in partnerkit.__all__:
        assert hasattr(partnerkit, name), name


def test_public_submodule_all_is_sorted_and_importable() -> None:
    for module in (
        partnerkit.access,
        partnerkit.attribution,
        partnerkit.batch,
        partnerkit.deals,
        partnerkit.events,
        partnerkit.forecast,
        partnerkit.funds,
        partnerkit.health,
        partnerkit.incentives,
        partnerkit.ledger,
        partnerkit.metrics,
        partnerkit.partners,
        partnerkit.report,
        partnerkit.relationship,
        partnerkit.serialization,
        partnerkit.services,
        partnerkit.storage,
        partnerkit.testing.conformance,
        partnerkit.testing.strategies,
        partnerkit.tiers,
    ):
        assert module.__all__ == sorted(module.__all__, key=isort_order)
        for name in module.__all__:
            assert hasattr(module, name), name


def test_every_module_is_private_or_declares_its_api() -> None:
    for info in pkgutil.walk_packages(partnerkit.__path__, "partnerkit."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__") or info.ispkg, f"{info.name} must declare __all__"


def test_version_comes_from_package_metadata() -> None:
    assert partnerkit.__version__ == importlib.metadata.version("partnerkit")


def test_package_is_typed() -> None:
    assert importlib.resources.files("partnerkit").joinpath("py.typed").is_file()
