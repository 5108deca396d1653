"""A stand-in for recipe-tool's ``python-code-tools`` MCP server, written with the mcp SDK.

The corpus recipes ``example_mcp_step`` and ``example_complex`` start ``python-code-tools stdio``.
This server offers the tool they use, with upstream's signature, and lints for real with Ruff
(run as ``python -m ruff`` from this interpreter):

- ``lint_code(code, fix=True, config=None)`` → ``{fixed_code, issues, fixed_count, remaining_count}``

``config`` may be ``{"select": [...], "ignore": [...], "line-length": n}``; the SDK parses a JSON
string such as ``"{}"`` (what ``mcp_step_example.json`` sends) into the dict.

    python python_code_tools.py stdio
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("python-code-tools")


def _ruff(source: Path, *, fix: bool, config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Ruff's diagnostics for ``source`` (after fixing it in place when ``fix``)."""
    settings = config or {}
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--output-format", "json", "--exit-zero"]
    if fix:
        command.append("--fix")
    if settings.get("select"):
        command += ["--select", ",".join(settings["select"])]
    if settings.get("ignore"):
        command += ["--ignore", ",".join(settings["ignore"])]
    if settings.get("line-length"):
        command += ["--line-length", str(settings["line-length"])]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ruff failed: {done.stderr.strip()}")
    return [
        {
            "line": item["location"]["row"],
            "column": item["location"]["column"],
            "code": item["code"] or "syntax-error",
            "message": item["message"],
        }
        for item in json.loads(done.stdout or "[]")
    ]


@server.tool()
def lint_code(code: str, fix: bool = True, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lint Python code with Ruff and optionally fix what can be fixed."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "snippet.py"
        source.write_text(code, encoding="utf-8")
        before = _ruff(source, fix=False, config=config)
        after = _ruff(source, fix=True, config=config) if fix else before
        fixed_code = source.read_text(encoding="utf-8")
    return {
        "fixed_code": fixed_code,
        "issues": after,
        "fixed_count": len(before) - len(after),
        "remaining_count": len(after),
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["stdio"]:
        sys.exit("usage: python-code-tools stdio")
    server.run("stdio")
