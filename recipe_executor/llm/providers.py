"""pydantic-ai models for each provider, built on SDK clients that are shared per run.

Each client is created once per run and configuration (not per call, as upstream did), sends
through :class:`~.transport.LimitedTransport` with the SDK's own retries off, and is closed
when the run ends. Configuration keys are upstream's (``openai_api_key``,
``azure_openai_base_url`` …) plus ``openai_base_url`` / ``anthropic_base_url``, ``llm_timeout``,
``llm_max_retries`` and ``llm_retry_base_delay``; the environment is the fallback.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import httpx2
from pydantic_ai.models import Model

from ..config import parse_bool
from ..runtime import RunState
from .limits import LIMITS_SERVICE, LimitSettings, RunLimits
from .model_ids import ModelId
from .retry import RetryPolicy
from .transport import LimitedTransport
from .usage import USAGE_SERVICE, UsageTotals

__all__ = ["DEFAULT_TIMEOUT", "build_model", "retry_policy", "run_limits"]

DEFAULT_TIMEOUT = 300.0


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {key} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"config {key} must not be negative, got {value!r}")
    return number


def retry_policy(config: Mapping[str, Any]) -> RetryPolicy:
    """From config ``llm_max_retries`` (default 5) and ``llm_retry_base_delay`` (seconds, 0.5)."""
    return RetryPolicy(
        max_retries=int(_number(config, "llm_max_retries", 5)),
        base_delay=_number(config, "llm_retry_base_delay", 0.5),
    )


def run_limits(run: RunState, config: Mapping[str, Any]) -> RunLimits:
    """The run's limits, created from ``config`` by the first call that needs them."""
    return run.service(LIMITS_SERVICE, lambda: RunLimits(LimitSettings.from_config(config)))


def _setting(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key.upper())
    return str(value) if value not in (None, "") else None


def _http_client(run: RunState, config: Mapping[str, Any], model: ModelId) -> httpx2.AsyncClient:
    usage = run.service(USAGE_SERVICE, UsageTotals)
    transport = LimitedTransport(
        run_limits(run, config).for_provider(model.provider),
        retry_policy(config),
        logger=run.logger,
        label=str(model),
        on_retry=lambda: usage.add_retry(str(model)),
    )
    return httpx2.AsyncClient(transport=transport, timeout=_number(config, "llm_timeout", DEFAULT_TIMEOUT))


def _shared(run: RunState, kind: str, settings: tuple[Any, ...], factory: Any) -> Any:
    """One client per run for each distinct ``settings``, closed when the run ends."""
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]

    def create() -> Any:
        client = factory()
        run.add_cleanup(client.close)
        return client

    return run.service(f"llm.client.{kind}.{digest}", create)


def _openai_client(run: RunState, config: Mapping[str, Any], model: ModelId) -> Any:
    from openai import AsyncOpenAI

    if model.provider == "ollama":
        base_url: str | None = (_setting(config, "ollama_base_url") or "http://localhost:11434").rstrip("/") + "/v1"
        api_key: str | None = "ollama"
    else:
        base_url = _setting(config, "openai_base_url")
        api_key = _setting(config, "openai_api_key") or ("not-needed" if base_url else None)
    timeout = _number(config, "llm_timeout", DEFAULT_TIMEOUT)
    return _shared(
        run,
        "openai",
        (model.provider, base_url, api_key, timeout, retry_policy(config)),
        lambda: AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=_http_client(run, config, model),
        ),
    )


def _azure_client(run: RunState, config: Mapping[str, Any], model: ModelId) -> Any:
    from openai import AsyncAzureOpenAI

    endpoint = _setting(config, "azure_openai_base_url")
    version = _setting(config, "azure_openai_api_version") or "2025-03-01-preview"
    deployment = model.deployment or _setting(config, "azure_openai_deployment_name") or model.name
    managed = parse_bool(_setting(config, "azure_use_managed_identity") or False)
    api_key = None if managed else _setting(config, "azure_openai_api_key")
    client_id = _setting(config, "azure_client_id")
    timeout = _number(config, "llm_timeout", DEFAULT_TIMEOUT)

    def create() -> Any:
        token_provider = None
        if managed:
            from azure.identity.aio import (  # type: ignore[import-not-found]  # optional, for managed identity
                DefaultAzureCredential,
                ManagedIdentityCredential,
                get_bearer_token_provider,
            )

            credential = ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()
            token_provider = get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")
        return AsyncAzureOpenAI(
            azure_endpoint=endpoint or "",
            azure_deployment=deployment if model.provider == "azure" else None,
            api_version=version,
            api_key=api_key,
            azure_ad_token_provider=token_provider,
            max_retries=0,
            timeout=timeout,
            http_client=_http_client(run, config, model),
        )

    settings = (
        model.provider, endpoint, version, deployment, managed, api_key, client_id, timeout, retry_policy(config)
    )
    return _shared(run, "azure", settings, create)


def _anthropic_client(run: RunState, config: Mapping[str, Any], model: ModelId) -> Any:
    from anthropic import AsyncAnthropic

    api_key = _setting(config, "anthropic_api_key")
    base_url = _setting(config, "anthropic_base_url")
    timeout = _number(config, "llm_timeout", DEFAULT_TIMEOUT)
    return _shared(
        run,
        "anthropic",
        (base_url, api_key, timeout, retry_policy(config)),
        lambda: AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=_http_client(run, config, model),
        ),
    )


def build_model(model: ModelId, config: Mapping[str, Any], run: RunState) -> Model:
    """The pydantic-ai model for ``model`` under ``config``, on the run's shared clients."""
    provider = model.provider
    if provider == "test":
        from .test_provider import offline_model

        return offline_model(model.name)
    if provider == "anthropic":
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        client = _anthropic_client(run, config, model)
        return AnthropicModel(model.name, provider=AnthropicProvider(anthropic_client=client))

    from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if provider in ("azure", "azure_responses"):
        client = _azure_client(run, config, model)
    else:
        client = _openai_client(run, config, model)
    openai_provider = OpenAIProvider(openai_client=client)
    if provider in ("openai_responses", "azure_responses"):
        name = model.name
        if provider == "azure_responses":
            name = model.deployment or _setting(config, "azure_openai_deployment_name") or model.name
        return OpenAIResponsesModel(name, provider=openai_provider)
    return OpenAIChatModel(model.name, provider=openai_provider)
