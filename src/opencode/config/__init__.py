"""Configuration: the `opencode.json` schema, loading it in layers, and where things live.

Importing this package costs nothing: the names below load their module (and pydantic) on first
use, so `from opencode.config import paths` stays cheap on the start-up path.

- `paths.py`  XDG directories (`paths().config`, `.data`, `.cache`, `.state`)
- `jsonc.py`  JSON with comments and trailing commas
- `schema.py` the typed schema (`Config` and its parts)
- `load.py`   finding, substituting, checking and merging the layers (`load_config`)
- `errors.py` `ConfigError` and its kinds, and how problems are worded
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.config.errors import ConfigError, ConfigFileError, ConfigSyntaxError, ConfigValidationError
    from opencode.config.load import LoadedConfig, find_project_files, load_config, mask_secrets
    from opencode.config.schema import (
        AgentConfig,
        AttachmentConfig,
        CommandConfig,
        CompactionConfig,
        Config,
        ExperimentalConfig,
        FormatterConfig,
        LspServerConfig,
        McpConfig,
        McpLocalConfig,
        McpOAuthConfig,
        McpRemoteConfig,
        McpToggleConfig,
        ModelConfig,
        ModelCost,
        ModelLimit,
        PermissionAction,
        PermissionConfig,
        PermissionRule,
        ProviderConfig,
        ProviderOptions,
        ServerConfig,
        SkillsConfig,
        ToolOutputConfig,
        TuiConfig,
        WatcherConfig,
    )

_EXPORTS = {
    "load": ("LoadedConfig", "find_project_files", "load_config", "mask_secrets"),
    "errors": ("ConfigError", "ConfigFileError", "ConfigSyntaxError", "ConfigValidationError"),
    "schema": (
        "AgentConfig",
        "AttachmentConfig",
        "CommandConfig",
        "CompactionConfig",
        "Config",
        "ExperimentalConfig",
        "FormatterConfig",
        "LspServerConfig",
        "McpConfig",
        "McpLocalConfig",
        "McpOAuthConfig",
        "McpRemoteConfig",
        "McpToggleConfig",
        "ModelConfig",
        "ModelCost",
        "ModelLimit",
        "PermissionAction",
        "PermissionConfig",
        "PermissionRule",
        "ProviderConfig",
        "ProviderOptions",
        "ServerConfig",
        "SkillsConfig",
        "ToolOutputConfig",
        "TuiConfig",
        "WatcherConfig",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "AgentConfig",
    "AttachmentConfig",
    "CommandConfig",
    "CompactionConfig",
    "Config",
    "ConfigError",
    "ConfigFileError",
    "ConfigSyntaxError",
    "ConfigValidationError",
    "ExperimentalConfig",
    "FormatterConfig",
    "LoadedConfig",
    "LspServerConfig",
    "McpConfig",
    "McpLocalConfig",
    "McpOAuthConfig",
    "McpRemoteConfig",
    "McpToggleConfig",
    "ModelConfig",
    "ModelCost",
    "ModelLimit",
    "PermissionAction",
    "PermissionConfig",
    "PermissionRule",
    "ProviderConfig",
    "ProviderOptions",
    "ServerConfig",
    "SkillsConfig",
    "ToolOutputConfig",
    "TuiConfig",
    "WatcherConfig",
    "find_project_files",
    "load_config",
    "mask_secrets",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
