"""Configuration from the environment, as upstream's ``load_configuration`` builds it.

Known provider settings are read from their environment variables (``OPENAI_API_KEY`` →
``openai_api_key`` …); each name listed in a recipe's ``env_vars`` is copied under its
lower-cased name. Values from ``--config`` are applied on top by the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ENV_CONFIG", "SECRET_MARKERS", "is_secret_key", "load_configuration", "parse_bool"]

ENV_CONFIG: Mapping[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "ANTHROPIC_API_KEY": None,
    "AZURE_OPENAI_API_KEY": None,
    "AZURE_OPENAI_BASE_URL": None,
    "AZURE_OPENAI_API_VERSION": "2025-03-01-preview",
    "AZURE_OPENAI_DEPLOYMENT_NAME": None,
    "AZURE_USE_MANAGED_IDENTITY": "false",
    "AZURE_CLIENT_ID": None,
    "OLLAMA_BASE_URL": "http://localhost:11434",
}
"""Environment variable → default; the config key is the lower-cased name."""

SECRET_MARKERS = ("key", "secret", "token", "password", "credential")


def is_secret_key(key: str) -> bool:
    """True for config keys whose values must never be logged."""
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def parse_bool(value: Any) -> bool:
    """``true/1/yes/on`` → True, anything else (``false``, ``0``, empty, None) → False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load_configuration(env_vars: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config dict from the environment plus a recipe's ``env_vars``."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, default in ENV_CONFIG.items():
        value = env.get(name, default)
        if value is not None:
            config[name.lower()] = value
    config["azure_use_managed_identity"] = parse_bool(config.get("azure_use_managed_identity"))
    for name in env_vars:
        if name in env:
            config[name.lower()] = env[name]
    return config
