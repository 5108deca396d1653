"""``llm_generate``: ask a model for text, files or JSON and store the answer in the context.

Fields are upstream's. ``model`` is ``provider/model[/deployment]`` (a template); when it is
absent the config ``model`` is used, then ``openai/gpt-4o``. Everything that can be checked
without running — the model id when static, ``output_format``, ``openai_builtin_tools`` — is
checked at validation time by :meth:`LlmGenerateStep.validate_static`; missing API keys and
SDKs are reported before any request. The SDK-dependent code lives in
:mod:`recipe_executor.llm` and is imported inside :meth:`LlmGenerateStep.execute` only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import is_template, render_template, render_value
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["LLMGenerateConfig", "LLMGenerateStep", "LlmGenerateConfig", "LlmGenerateStep"]

_NATIVE_TOOL_PROVIDERS = frozenset({"openai_responses", "azure_responses"})


class LlmGenerateConfig(StepConfig):
    """Config for LlmGenerateStep.

    Fields:
        prompt: the prompt (a template).
        model: ``provider/model[/deployment]`` (a template); ``None`` = config ``model``, then
            ``openai/gpt-4o``.
        max_tokens: most output tokens (an int or a template); ``None`` = the provider's default.
        mcp_servers: MCP servers whose tools the model may call (string values rendered,
            ``args`` included); config ``mcp_servers`` is appended, as upstream.
        openai_builtin_tools: provider-side tools (``web_search_preview``) for the Responses
            providers only.
        output_format: ``"text"``, ``"files"``, a JSON-schema object, or ``[item schema]``.
        output_key: where to store the answer (a template).
    """

    prompt: str
    model: str | None = None
    max_tokens: int | str | None = None
    mcp_servers: list[dict[str, Any]] | None = None
    openai_builtin_tools: list[dict[str, Any]] | None = None
    output_format: str | dict[str, Any] | list[Any]
    output_key: str = "llm_output"


def _check_builtin_tools(tools: list[dict[str, Any]] | None, provider: str | None) -> str | None:
    if not tools:
        return None
    for tool in tools:
        if tool.get("type") != "web_search_preview":
            return f"openai_builtin_tools supports only {{'type': 'web_search_preview'}}, got {tool!r}"
    if provider is not None and provider not in _NATIVE_TOOL_PROVIDERS:
        return (
            f"openai_builtin_tools need an 'openai_responses/…' or 'azure_responses/…' model, "
            f"not provider {provider!r}"
        )
    return None


@register_step("llm_generate")
class LlmGenerateStep(BaseStep[LlmGenerateConfig]):
    """Calls a model and stores its answer; see the module docstring."""


    @classmethod
    def untemplated_fields(cls) -> frozenset[str]:
        return frozenset({"output_format", "openai_builtin_tools"})

    @classmethod
    def validate_static(cls, config: LlmGenerateConfig) -> list[str]:
        """Problems found without running: a static model id, output_format, built-in tools."""
        from ..llm.model_ids import missing_sdk, parse_model_id
        from ..llm.schema import check_output_format

        problems: list[str] = []
        provider: str | None = None
        if config.model is not None and not is_template(config.model):
            try:
                provider = parse_model_id(config.model).provider
            except ValueError as exc:
                problems.append(str(exc))
            else:
                hint = missing_sdk(provider)
                if hint:
                    problems.append(f"model {config.model!r}: {hint}")
        format_problem = check_output_format(config.output_format)
        if format_problem:
            problems.append(format_problem)
        tools_problem = _check_builtin_tools(config.openai_builtin_tools, provider)
        if tools_problem:
            problems.append(tools_problem)
        return problems

    @classmethod
    def validate_for_run(cls, config: LlmGenerateConfig, run_config: Mapping[str, Any]) -> list[str]:
        """Before a run starts: the API key or SDK a static model (or the default model) lacks.

        A templated model is checked when the step runs, still before any request.
        """
        from ..llm.model_ids import DEFAULT_MODEL, missing_credentials, missing_sdk, parse_model_id

        if config.model is not None and is_template(config.model):
            return []
        from_step = config.model is not None and bool(config.model.strip())
        text = config.model.strip() if from_step and config.model else str(run_config.get("model") or DEFAULT_MODEL)
        try:
            model_id = parse_model_id(text)
        except ValueError as exc:
            return [] if from_step else [f"config model: {exc}"]  # a bad step model is a static problem
        problem = (None if from_step else missing_sdk(model_id.provider)) or missing_credentials(
            model_id, run_config, os.environ
        )
        return [f"model {text!r}: {problem}"] if problem else []

    async def execute(self, context: ContextProtocol) -> None:
        from ..llm.model_ids import DEFAULT_MODEL, missing_credentials, missing_sdk, parse_model_id
        from ..llm.schema import output_spec

        cfg = self.config
        config = context.get_config()
        model_text = render_template(cfg.model, context).strip() if cfg.model is not None else ""
        model_text = model_text or str(config.get("model") or DEFAULT_MODEL)
        try:
            model_id = parse_model_id(model_text)
            spec = output_spec(cfg.output_format)
        except ValueError as exc:
            raise StepError(str(exc)) from None
        problem = (
            missing_sdk(model_id.provider)
            or missing_credentials(model_id, config, os.environ)
            or _check_builtin_tools(cfg.openai_builtin_tools, model_id.provider)
        )
        if problem:
            raise StepError(f"model {model_text!r}: {problem}")
        max_tokens = self._max_tokens(context)
        servers = self._servers(context, config)
        prompt = render_template(cfg.prompt, context)
        output_key = render_template(cfg.output_key, context)

        from ..llm.generate import generate

        context[output_key] = await generate(
            prompt=prompt,
            model_id=model_id,
            spec=spec,
            config=config,
            logger=self.logger,
            max_tokens=max_tokens,
            mcp_servers=servers,
            native_tools=cfg.openai_builtin_tools or (),
        )

    def _max_tokens(self, context: ContextProtocol) -> int | None:
        value = self.config.max_tokens
        if value is None:
            return None
        text = render_template(str(value), context).strip()
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            raise StepError(f"max_tokens must be a whole number, but {value!r} rendered to {text!r}") from None
        if number <= 0:
            raise StepError(f"max_tokens must be positive, got {number}")
        return number

    def _servers(self, context: ContextProtocol, config: dict[str, Any]) -> list[dict[str, Any]]:
        from ..llm.mcp_servers import normalise_server

        raw = list(self.config.mcp_servers or [])
        extra = config.get("mcp_servers")
        if isinstance(extra, list):
            raw.extend(s for s in extra if isinstance(s, dict))
        servers = []
        for index, spec in enumerate(raw):
            try:
                servers.append(normalise_server(render_value(spec, context)))
            except ValueError as exc:
                raise StepError(f"mcp_servers[{index}]: {exc}") from None
        return servers


# Upstream's class names, for code that imports them.
LLMGenerateConfig = LlmGenerateConfig
LLMGenerateStep = LlmGenerateStep
