"""Test support for partnerkit and for hosts that build on it.

Requires the ``testing`` extra (``pip install "partnerkit[testing]"``), which brings
hypothesis and pytest.

- `partnerkit.testing.strategies`: hypothesis strategies for every public model.
- `partnerkit.testing.conformance`: the storage conformance suite; subclass
  ``StorageContract`` with one ``storage`` fixture to hold your own adapter to the
  promises the shipped adapters keep.
- `partnerkit.testing.pytest_plugin`: the pytest plugin the extra installs, so that
  a failing contract shows the values it compared.
"""
