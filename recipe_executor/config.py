"""Configuration from the environment, as upstream's ``load_configuration`` builds it.

Known provider settings are read from their environment variables (``OPENAI_API_KEY`` →
``openai_api_key`` …); each name listed in a recipe's ``env_vars`` is copied under its
lower-cased name. :func:`build_config` applies the CLI's ``--config`` values on top, parsing
what upstream left as strings by mistake (booleans, JSON lists such as ``mcp_servers``).
:func:`secret_values` lists the values that must never reach a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .values import parse_json_structure

__all__ = [
    "BOOLEAN_KEYS",
    "ENV_CONFIG",
    "NOT_SECRET_KEYS",
    "SECRET_MARKERS",
    "build_config",
    "is_secret_key",
    "load_configuration",
    "parse_bool",
    "parse_cli_value",
    "secret_values",
]

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

BOOLEAN_KEYS = frozenset({"azure_use_managed_identity"})
"""Config keys that hold a boolean: ``"false"`` from the CLI or environment means False
(upstream kept the string ``"false"``, which is truthy)."""

SECRET_MARKERS = frozenset(
    {"key", "apikey", "secret", "token", "password", "passwd", "credential", "credentials", "auth", "pat"}
)
"""A config key is secret if one of its ``_``/``-``/``.``-separated words is one of these
(``openai_api_key``, ``GITHUB_TOKEN``; not ``max_tokens``)."""

NOT_SECRET_KEYS = frozenset(
    {
        "model",
        "openai_base_url",
        "ollama_base_url",
        "azure_openai_base_url",
        "azure_openai_api_version",
        "azure_openai_deployment_name",
        "azure_use_managed_identity",
        "mcp_servers",
    }
)
"""``--config`` keys known to hold no secret. Every other ``--config`` value is treated as one."""


def is_secret_key(key: str) -> bool:
    """True for config keys whose values must never be logged (``*_api_key``, ``*token*`` …)."""
    return any(word in SECRET_MARKERS for word in re.split(r"[_\-.\s]+", key.lower()))


def parse_bool(value: Any) -> bool:
    """``true/1/yes/on`` → True, anything else (``false``, ``0``, empty, None) → False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_cli_value(text: str) -> Any:
    """A ``--config`` value: JSON for an object or array (``mcp_servers=[…]``), else the text."""
    return parse_json_structure(text)


def load_configuration(env_vars: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config dict from the environment plus a recipe's ``env_vars``."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, default in ENV_CONFIG.items():
        value = env.get(name, default)
        if value is not None:
            config[name.lower()] = value
    for name in env_vars:
        if name in env:
            config[name.lower()] = env[name]
    _coerce_booleans(config)
    return config


def build_config(
    env_vars: Iterable[str], cli: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The run's config: the environment (see :func:`load_configuration`), then ``--config``."""
    config = load_configuration(env_vars, environ)
    for key, text in cli.items():
        config[key] = parse_cli_value(text)
    _coerce_booleans(config)
    return config


def _coerce_booleans(config: dict[str, Any]) -> None:
    for key in BOOLEAN_KEYS:
        if key in config:
            config[key] = parse_bool(config[key])


def secret_values(config: Mapping[str, Any], cli_keys: Iterable[str] = ()) -> list[str]:
    """The strings to redact from logs: values of secret-looking keys, and every ``--config``
    value (``cli_keys``) except those of known harmless keys, booleans and plain numbers."""
    secrets: set[str] = set()
    cli = set(cli_keys)
    for key, value in config.items():
        if not isinstance(value, str) or not value:
            continue
        from_cli = key in cli and key not in NOT_SECRET_KEYS and not _harmless(value)
        if from_cli or is_secret_key(key):
            secrets.add(value)
    return sorted(secrets)


def _harmless(value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "false", "yes", "no", "on", "off", ""):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True
