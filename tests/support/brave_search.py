"""A stand-in for ``npx -y @modelcontextprotocol/server-brave-search``, written with the mcp SDK.

``example_brave_search/search.json`` starts that npm package through ``npx`` (network needed to
fetch it, and a Brave API key to search). This server has the package's tool names and
arguments, requires ``BRAVE_API_KEY`` at start-up as the package does, and answers from no
network: each result names the query, so tests can follow it through the model's answer.

    python brave_search.py -y @modelcontextprotocol/server-brave-search
"""

from __future__ import annotations

import os
import re
import sys

from mcp.server.mcpserver import MCPServer

PACKAGE = "@modelcontextprotocol/server-brave-search"

server = MCPServer("brave-search")


def _results(query: str, count: int, offset: int) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", query.lower())) or "query"
    return "\n\n".join(
        f"Title: Result {i} for {query}\nDescription: stand-in result {i}\nURL: https://search.invalid/{slug}/{i}"
        for i in range(offset + 1, offset + 1 + max(1, min(count, 20)))
    )


@server.tool()
def brave_web_search(query: str, count: int = 10, offset: int = 0) -> str:
    """Web search (stand-in results, no network)."""
    return _results(query, count, offset)


@server.tool()
def brave_local_search(query: str, count: int = 5) -> str:
    """Local business search (stand-in results, no network)."""
    return _results(query, count, 0)


if __name__ == "__main__":
    if PACKAGE not in sys.argv[1:]:
        sys.exit(f"usage: npx -y {PACKAGE}")
    if not os.environ.get("BRAVE_API_KEY"):
        sys.exit("Error: BRAVE_API_KEY environment variable is required")
    server.run("stdio")
