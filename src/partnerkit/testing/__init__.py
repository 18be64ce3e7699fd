"""Test support for partnerkit and for hosts that build on it.

Requires the ``testing`` extra (``pip install "partnerkit[testing]"``), which brings
hypothesis and pytest.

- `partnerkit.testing.strategies`: hypothesis strategies for every public model.
"""
