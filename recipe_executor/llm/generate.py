"""One ``llm_generate`` call end to end: model, MCP tools, structured output, usage.

Errors from the provider are mapped here, at the one boundary, to :class:`StepError` with the
provider's own message; transient ones were already retried by the transport.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_ai import Agent, ModelRetry, StructuredDict
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError, UnexpectedModelBehavior, UsageLimitExceeded, UserError
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import Tool
from pydantic_ai.toolsets import FunctionToolset

from ..errors import StepError
from ..runtime import current_run
from .mcp_servers import McpConnection, connect_timeout, mcp_registry
from .model_ids import ModelId
from .providers import build_model, run_limits
from .schema import OutputSpec, open_free_form_objects
from .usage import USAGE_SERVICE, UsageTotals

__all__ = ["generate", "tool_result_payload"]

_OUTPUT_RETRIES = 2
"""How often an answer that does not fit ``output_format`` is sent back to the model."""


def tool_result_payload(result: Any) -> Any:
    """What a model sees of an MCP tool result: structured content, else the text parts."""
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        return structured
    texts = [getattr(part, "text", None) for part in getattr(result, "content", [])]
    return "\n".join(t for t in texts if t is not None)


async def _toolset(connection: McpConnection, prefix: str | None) -> FunctionToolset[Any]:
    tools = []
    for info in await connection.list_tools():
        name = f"{prefix}_{info.name}" if prefix else info.name

        async def call(_tool: str = info.name, **arguments: Any) -> Any:
            result = await connection.call_tool(_tool, arguments)
            if getattr(result, "is_error", False):
                raise ModelRetry(f"tool {_tool!r} failed: {tool_result_payload(result)}")
            return tool_result_payload(result)

        schema = open_free_form_objects(dict(info.input_schema or {"type": "object", "properties": {}}))
        tools.append(Tool.from_schema(call, name=name, description=info.description, json_schema=schema))
    return FunctionToolset(tools)


class _SchemaValidator:
    """Checks an answer against the full schema; a mismatch goes back to the model, and the
    last one is kept so that a final failure can say what was wrong."""

    def __init__(self, spec: OutputSpec) -> None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

        self.checker = Draft202012Validator(spec.schema or {})
        self.last_problem: str | None = None

    def __call__(self, output: Any) -> Any:
        errors = sorted(self.checker.iter_errors(output), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            self.last_problem = f"at {where}: {errors[0].message}"
            raise ModelRetry(f"the output does not match the schema {self.last_problem}")
        return output


async def generate(
    *,
    prompt: str,
    model_id: ModelId,
    spec: OutputSpec,
    config: Mapping[str, Any],
    logger: logging.Logger,
    max_tokens: int | None = None,
    mcp_servers: Sequence[dict[str, Any]] = (),
    native_tools: Sequence[dict[str, Any]] = (),
) -> Any:
    """Ask ``model_id`` for ``spec`` output and return what the step stores."""
    run = current_run()
    model = build_model(model_id, config, run)
    registry = mcp_registry(run) if mcp_servers else None
    toolsets = []
    for server in mcp_servers:
        assert registry is not None
        connection = registry.get(server, connect_timeout=connect_timeout(config))
        toolsets.append(await _toolset(connection, server.get("tool_prefix")))

    settings: dict[str, Any] = {}
    if max_tokens is not None:
        settings["max_tokens"] = max_tokens
    if native_tools:
        settings["openai_native_tools"] = list(native_tools)
    output_type: Any = str if spec.schema is None else StructuredDict(spec.schema)
    agent: Agent[None, Any] = Agent(model, output_type=output_type, toolsets=toolsets, retries=_OUTPUT_RETRIES)
    validator = _SchemaValidator(spec) if spec.schema is not None else None
    if validator is not None:
        agent.output_validator(validator)

    label = str(model_id)
    logger.debug("llm_generate %s prompt: %s", label, prompt)
    started = time.perf_counter()
    try:
        result = await agent.run(prompt, model_settings=ModelSettings(**settings) if settings else None)  # type: ignore[typeddict-item]
    except ModelHTTPError as exc:
        raise StepError(f"{label} answered HTTP {exc.status_code}: {_body_message(exc.body) or exc.message}") from exc
    except ModelAPIError as exc:
        raise StepError(f"{label} request failed: {exc.message}") from exc
    except (UnexpectedModelBehavior, UsageLimitExceeded) as exc:
        if validator is not None and validator.last_problem:
            raise StepError(
                f"{label} gave no answer matching output_format in {_OUTPUT_RETRIES + 1} tries; the last one was "
                f"wrong {validator.last_problem} (simplify the schema or make the prompt say what is expected)"
            ) from exc
        raise StepError(f"{label} gave no usable answer: {exc.message}") from exc
    except UserError as exc:
        raise StepError(f"{label}: {exc.message}") from exc
    usage = result.usage
    totals = run.service(USAGE_SERVICE, UsageTotals)
    totals.add(label, requests=usage.requests, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
    run_limits(run, config).add_output_tokens(usage.output_tokens)
    logger.info(
        "LLM %s answered in %.2fs (%d requests, %d input + %d output tokens)",
        label, time.perf_counter() - started, usage.requests, usage.input_tokens, usage.output_tokens,
    )
    output = result.output
    logger.debug("llm_generate %s result: %r", label, output)
    if spec.unwrap is not None:
        value = output[spec.unwrap]
        return [dict(item) for item in value] if spec.kind == "files" else value
    return dict(output) if spec.schema is not None else output


def _body_message(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message")
            return str(message) if message else None
        if isinstance(error, str):
            return error
    return None
