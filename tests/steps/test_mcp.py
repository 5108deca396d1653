"""The mcp step against a real MCP server process, over stdio and streamable HTTP."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_llm_server import FakeLLMServer

from recipe_executor import Context, Executor
from recipe_executor.errors import RecipeExecutorError

SERVER = Path(__file__).resolve().parent.parent / "support" / "mcp_server.py"
STDIO = {"command": sys.executable, "args": [str(SERVER), "stdio"]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


def _call(server: dict[str, Any], tool: str, arguments: dict[str, Any], key: str, **extra: Any) -> dict[str, Any]:
    return {"type": "mcp", "config": {"server": server, "tool_name": tool, "arguments": arguments,
                                      "result_key": key, **extra}}


async def _run(steps: list[dict[str, Any]], **artifacts: Any) -> Context:
    context = Context(artifacts=artifacts)
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


async def test_mcp_stdio_renders_nested_arguments_and_reuses_one_process() -> None:
    steps = [
        _call(STDIO, "pid", {}, "p0"),
        _call(STDIO, "echo", {"text": "{{ word }}"}, "r1"),
        {"type": "parallel", "config": {"substeps": [_call(STDIO, "pid", {}, "p1"), _call(STDIO, "pid", {}, "p2")]}},
        _call(STDIO, "pid", {}, "p3"),
        _call({**STDIO, "env": {"GREETING": "{{ word }}"}}, "env", {"name": "GREETING"}, "e"),
    ]
    context = await _run(steps, word="hi")
    assert context["r1"]["content"][0]["text"] == "echo: hi"
    assert context["r1"]["isError"] is False
    assert context["e"]["structuredContent"] == {"result": "hi"}
    assert context["p0"]["structuredContent"] == context["p3"]["structuredContent"]  # one process for the run


async def test_mcp_server_process_is_gone_after_the_run() -> None:
    context = await _run([_call(STDIO, "pid", {}, "p")])
    pid = context["p"]["structuredContent"]["result"]
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


async def test_mcp_tool_error_fails_the_step_unless_ignored() -> None:
    with pytest.raises(RecipeExecutorError, match=r"'fail'.*reported an error.*ignore_errors") as info:
        await _run([_call(STDIO, "fail", {}, "r")])
    assert "steps[0] mcp" in str(info.value)
    context = await _run([_call(STDIO, "fail", {}, "r", ignore_errors=True)])
    assert context["r"]["isError"] is True


async def test_mcp_server_failure_also_shuts_down_after_a_failing_step() -> None:
    steps = [_call(STDIO, "pid", {}, "p"), {"type": "set_context", "config": {"key": "x", "value": "{{ 1 | nope }}"}}]
    with pytest.raises(RecipeExecutorError):
        await _run(steps)


async def test_mcp_streamable_http_with_typed_arguments(http_server: str) -> None:
    context = await _run([_call({"url": http_server}, "add", {"a": "{{ a }}", "b": 2}, "sum")], a=40)
    assert context["sum"]["structuredContent"] == {"result": 42}


async def test_mcp_unreachable_server_names_it() -> None:
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    with pytest.raises(RecipeExecutorError, match="could not connect to MCP streamable_http server"):
        await _run([_call({"url": url}, "add", {"a": 1, "b": 2}, "sum")])


async def test_llm_generate_gives_the_model_mcp_tools() -> None:
    server = FakeLLMServer().start()
    url = f"{server.url}/v1"
    server.tool_args = {"text": "from model"}
    server.tool_name = "echo"
    step = {"type": "llm_generate", "config": {"prompt": "use the tool", "model": "openai/gpt-4o",
                                                "output_format": "text", "output_key": "out",
                                                "mcp_servers": [STDIO]}}
    context = Context(config={"openai_base_url": url, "openai_api_key": "k"})
    try:
        await Executor(logging.getLogger("test")).execute({"steps": [step]}, context)
    finally:
        server.stop()
    assert context["out"] == 'tool said: {"result":"echo: from model"}'


async def test_mcp_command_that_never_speaks_mcp_fails_after_the_connect_timeout() -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    context = Context(config={"mcp_connect_timeout": "1"})
    with pytest.raises(RecipeExecutorError, match=r"steps\[0\] mcp: could not connect .* within 1 s") as info:
        await Executor(logging.getLogger("test")).execute({"steps": [_call(silent, "x", {}, "r")]}, context)
    assert "mcp_connect_timeout" in str(info.value)


async def test_mcp_connect_timeout_must_be_positive() -> None:
    context = Context(config={"mcp_connect_timeout": "soon"})
    with pytest.raises(RecipeExecutorError, match="mcp_connect_timeout must be a positive number"):
        await Executor(logging.getLogger("test")).execute({"steps": [_call(STDIO, "pid", {}, "p")]}, context)
