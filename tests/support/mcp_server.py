"""A real MCP server for the tests, written with the mcp SDK.

    python mcp_server.py stdio
    python mcp_server.py http PORT     (streamable HTTP at http://127.0.0.1:PORT/mcp)

Tools: ``add(a, b)``, ``echo(text)``, ``pid()`` (the server's process id, to tell whether a
connection was reused), ``env(name)`` (an environment variable of the server) and ``fail()``
(always raises, so the result is a tool error).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("recipe-executor-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return f"echo: {text}"


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def env(name: str) -> str:
    """One environment variable of the server process ('' if unset)."""
    return os.environ.get(name, "")


@server.tool()
def fail() -> str:
    """Always fails."""
    raise RuntimeError("this tool always fails")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
