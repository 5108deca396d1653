"""``mcp``: call one tool on an MCP server and store the result.

Fields are upstream's: ``server`` (stdio ``command``/``args``/``env``/``working_dir``, or
``url``/``headers`` for streamable HTTP and SSE), ``tool_name``, ``arguments`` (rendered
recursively; a string that is exactly ``{{ expr }}`` keeps the value's type) and
``result_key``. The stored value is the tool result as plain data: ``content``,
``structuredContent``, ``isError``, ``meta``. A tool error fails the step unless
``ignore_errors`` is true. The connection is shared by the whole run (see
:mod:`recipe_executor.llm.mcp_servers`); the SDK is imported inside :meth:`McpStep.execute`.
"""

from __future__ import annotations

from typing import Any

from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import render_template, render_value
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["MCPConfig", "MCPStep", "McpConfig", "McpStep"]


class McpConfig(StepConfig):
    """Config for McpStep.

    Fields:
        server: the server (string values rendered, recursively).
        tool_name: the tool to call (a template).
        arguments: the tool's arguments (rendered recursively).
        result_key: where to store the result (a template).
        ignore_errors: store a tool error instead of failing the step.
    """

    server: dict[str, Any]
    tool_name: str
    arguments: dict[str, Any]
    result_key: str = "tool_result"
    ignore_errors: bool = False


def result_to_data(result: Any) -> dict[str, Any]:
    """A ``CallToolResult`` as upstream stored it: ``{meta, content, structuredContent, isError}``."""
    content = [part.model_dump(mode="json", by_alias=True, exclude_none=False) for part in result.content]
    return {
        "meta": getattr(result, "meta", None),
        "content": content,
        "structuredContent": getattr(result, "structured_content", None),
        "isError": bool(getattr(result, "is_error", False)),
    }


@register_step("mcp")
class McpStep(BaseStep[McpConfig]):
    """Calls an MCP tool; see the module docstring."""


    async def execute(self, context: ContextProtocol) -> None:
        from ..llm.generate import tool_result_payload
        from ..llm.mcp_servers import connect_timeout, describe_server, mcp_registry, normalise_server
        from ..runtime import current_run

        cfg = self.config
        try:
            server = normalise_server(render_value(cfg.server, context))
        except ValueError as exc:
            raise StepError(f"server: {exc}") from None
        tool = render_template(cfg.tool_name, context)
        arguments = render_value(cfg.arguments, context, structured=True)
        connection = mcp_registry(current_run()).get(server, connect_timeout=connect_timeout(context.get_config()))
        self.logger.debug("Calling MCP tool %r on %s", tool, describe_server(server))
        result = await connection.call_tool(tool, arguments)
        data = result_to_data(result)
        if data["isError"] and not cfg.ignore_errors:
            raise StepError(
                f"MCP tool {tool!r} on {describe_server(server)} reported an error: "
                f"{tool_result_payload(result)!s:.500} (set ignore_errors: true to store it instead)"
            )
        context[render_template(cfg.result_key, context)] = data


# Upstream's class names, for code that imports them.
MCPConfig = McpConfig
MCPStep = McpStep
