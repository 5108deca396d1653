"""An MCP server for the issue-4 acceptance tests, written with the mcp SDK.

    python mcp_tools_server.py stdio
    python mcp_tools_server.py http PORT      streamable HTTP at http://127.0.0.1:PORT/mcp
    python mcp_tools_server.py sse PORT       legacy HTTP+SSE at http://127.0.0.1:PORT/sse
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("acceptance-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool()
def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """Echo a nested payload with the Python type name of each top-level value."""
    return {"payload": payload, "types": {k: type(v).__name__ for k, v in payload.items()}}


@server.tool()
def whoami() -> dict[str, Any]:
    """The server's process id and working directory."""
    return {"pid": os.getpid(), "cwd": os.getcwd()}


@server.tool()
def getenv(name: str) -> str:
    """One environment variable of the server ('' if unset)."""
    return os.environ.get(name, "")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """One HTTP request header ('' without HTTP)."""
    headers = ctx.headers or {}
    return str(headers.get(name.lower(), headers.get(name, "")))


@server.tool()
def nap(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "rested"


@server.tool()
def explode(reason: str) -> str:
    """Always fails, with a message the caller sees."""
    raise ToolError(f"exploded: {reason}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif sys.argv[1:2] == ["sse"]:
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
