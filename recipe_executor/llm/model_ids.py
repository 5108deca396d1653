"""Model ids: ``provider/model[/deployment]``, parsed and checked without importing any SDK.

Checks here run at validation time for static ids (before anything runs) and again just before
the first request for ids that come from templates.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import parse_bool
from . import INSTALL_HINT

__all__ = [
    "DEFAULT_MODEL",
    "PROVIDERS",
    "ModelId",
    "missing_credentials",
    "missing_sdk",
    "parse_model_id",
]

DEFAULT_MODEL = "openai/gpt-4o"
"""Upstream's default, used when neither the step nor config ``model`` names one."""

PROVIDERS: Mapping[str, str] = {
    "openai": "OpenAI Chat Completions (also any OpenAI-compatible server via openai_base_url)",
    "azure": "Azure OpenAI Chat Completions",
    "anthropic": "Anthropic Messages",
    "ollama": "Ollama's OpenAI-compatible endpoint",
    "openai_responses": "OpenAI Responses",
    "azure_responses": "Azure OpenAI Responses",
    "test": "offline deterministic model, no network",
}
"""Every provider prefix a model id may start with."""

_DEPLOYMENT_PROVIDERS = frozenset({"azure", "azure_responses"})
_SDK_MODULES: Mapping[str, tuple[str, ...]] = {
    "openai": ("pydantic_ai", "openai"),
    "azure": ("pydantic_ai", "openai"),
    "ollama": ("pydantic_ai", "openai"),
    "openai_responses": ("pydantic_ai", "openai"),
    "azure_responses": ("pydantic_ai", "openai"),
    "anthropic": ("pydantic_ai", "anthropic"),
    "test": ("pydantic_ai",),
}


@dataclass(frozen=True, slots=True)
class ModelId:
    """A parsed model id. ``deployment`` is only set for the Azure providers."""

    provider: str
    name: str
    deployment: str | None = None

    def __str__(self) -> str:
        parts = [self.provider, self.name] + ([self.deployment] if self.deployment else [])
        return "/".join(parts)


def parse_model_id(text: str) -> ModelId:
    """``"openai/gpt-4o"`` → ``ModelId("openai", "gpt-4o")``; ``ValueError`` with the fix if malformed.

    The provider is case-insensitive. Names may contain ``/`` for providers without a
    deployment part (``ollama/library/llama3``); for Azure the third part is the deployment.
    """
    raw = text.strip()
    provider, sep, rest = raw.partition("/")
    provider = provider.strip().lower()
    if not sep or not provider or not rest.strip():
        hint = " (use '/' not ':')" if ":" in raw and "/" not in raw else ""
        raise ValueError(
            f"model {text!r} is not of the form 'provider/model'{hint}; for example 'openai/gpt-4o' "
            f"or 'test/echo' (providers: {', '.join(PROVIDERS)})"
        )
    if provider not in PROVIDERS:
        close = difflib.get_close_matches(provider, list(PROVIDERS), n=1, cutoff=0.5)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"model {text!r} names an unknown provider {provider!r}{suggestion} "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    deployment: str | None = None
    name = rest.strip()
    if provider in _DEPLOYMENT_PROVIDERS and "/" in name:
        name, _, deployment = name.partition("/")
        if not name or not deployment or "/" in deployment:
            raise ValueError(f"model {text!r} must be '{provider}/<model>' or '{provider}/<model>/<deployment>'")
    return ModelId(provider, name, deployment)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package of a dotted name
        return False


def missing_sdk(provider: str) -> str | None:
    """The install hint if a package this provider needs is not installed, else ``None``."""
    for module in _SDK_MODULES.get(provider, ()):
        if not _installed(module):
            return f"the {provider!r} provider needs the {module!r} package; {INSTALL_HINT}"
    return None


def missing_credentials(model: ModelId, config: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """What credential or setting ``model`` lacks under ``config`` and ``environ``, or ``None``.

    Config keys are upstream's (``openai_api_key`` …); the environment is the fallback, as the
    SDKs themselves do.
    """

    def has(key: str, env: str) -> bool:
        return bool(config.get(key) or environ.get(env))

    provider = model.provider
    if provider in ("openai", "openai_responses"):
        if has("openai_api_key", "OPENAI_API_KEY"):
            return None
        if has("openai_base_url", "OPENAI_BASE_URL"):
            return None  # an OpenAI-compatible local server usually needs no key
        return "no OpenAI API key: set OPENAI_API_KEY or pass --config openai_api_key=..."
    if provider == "anthropic":
        if has("anthropic_api_key", "ANTHROPIC_API_KEY"):
            return None
        return "no Anthropic API key: set ANTHROPIC_API_KEY or pass --config anthropic_api_key=..."
    if provider in ("azure", "azure_responses"):
        if not has("azure_openai_base_url", "AZURE_OPENAI_BASE_URL"):
            return "no Azure OpenAI endpoint: set AZURE_OPENAI_BASE_URL or pass --config azure_openai_base_url=..."
        managed = config.get("azure_use_managed_identity", environ.get("AZURE_USE_MANAGED_IDENTITY", "false"))
        if parse_bool(managed):
            if not _installed("azure.identity"):
                return "managed identity needs the 'azure-identity' package; pip install azure-identity"
            return None
        if has("azure_openai_api_key", "AZURE_OPENAI_API_KEY"):
            return None
        return (
            "no Azure OpenAI API key: set AZURE_OPENAI_API_KEY (or AZURE_USE_MANAGED_IDENTITY=true) "
            "or pass --config azure_openai_api_key=..."
        )
    return None
