"""The package's public names, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import opencode.config


def test_every_public_name_resolves() -> None:
    for name in opencode.config.__all__:
        assert getattr(opencode.config, name) is not None, name


def test_importing_the_package_does_not_load_pydantic() -> None:
    code = (
        "import sys\n"
        "import opencode.config\n"
        "from opencode.config import paths\n"
        "from opencode.config.errors import ConfigError\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'\n"
        "from opencode.config import Config\n"
        "assert 'pydantic' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_all_lists_exactly_the_lazy_names() -> None:
    assert sorted(opencode.config.__all__) == sorted(opencode.config._MODULE_OF)
