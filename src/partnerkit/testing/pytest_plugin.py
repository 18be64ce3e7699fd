"""partnerkit's pytest plugin: failures of the conformance suite show their values.

pytest explains a failed ``assert`` (both sides of ``==``, the values behind each
name) only in modules it rewrites as they are imported: test modules, conftest
files and what plugins register. This plugin registers
`partnerkit.testing.conformance`, so a host's run of the contracts explains every
failure the same way its own tests do.

The ``testing`` extra installs it as a ``pytest11`` entry point named
``partnerkit``, so pytest loads it before any test module imports the suite. Where
plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), load it by hand with
``-p partnerkit.testing.pytest_plugin`` or ``pytest_plugins`` in the root
``conftest.py``.
"""

import pytest

__all__: list[str] = []

# Before anything imports the suite: pytest can only rewrite a module it imports.
pytest.register_assert_rewrite("partnerkit.testing.conformance")
