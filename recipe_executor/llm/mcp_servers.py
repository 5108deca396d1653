"""MCP server connections owned by the run and shared by every step that names the same server.

A server is identified by its normalised config (command, args, env, working directory; or
url, headers, transport). The first step that needs it starts an owner task with
``run.start_background`` — the connection's cancel scopes are entered and exited in that one
task — and every later step, ``mcp`` or ``llm_generate``, reuses the connection. When the run
ends (success, failure or Ctrl-C) each owner is told to stop and the connection is closed,
which terminates stdio server processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio

from ..errors import StepError
from ..runtime import RunState

__all__ = ["CONNECT_TIMEOUT", "MCP_SERVICE", "McpConnection", "McpRegistry", "connect_timeout", "describe_server",
           "normalise_server"]

MCP_SERVICE = "llm.mcp_servers"
SHUTDOWN_TIMEOUT = 10.0
CONNECT_TIMEOUT = 60.0
"""Seconds a server may take to start and answer MCP's ``initialize`` (config ``mcp_connect_timeout``);
a command that is not an MCP server would otherwise hang the run."""


def connect_timeout(config: Mapping[str, Any]) -> float:
    """Config ``mcp_connect_timeout`` (seconds, > 0), else :data:`CONNECT_TIMEOUT`."""
    value = config.get("mcp_connect_timeout")
    if value in (None, ""):
        return CONNECT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0:
        raise StepError(f"config mcp_connect_timeout must be a positive number of seconds, got {value!r}")
    return seconds


def normalise_server(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of an already rendered server config; ``ValueError`` if unusable.

    stdio: ``command`` (required), ``args`` (list, items ``str()``-ed), ``env`` (values
    ``str()``-ed; an empty value takes the variable from the environment, as upstream), and
    ``working_dir`` or ``cwd``. HTTP: ``url``, ``headers``, and ``transport`` (``"sse"`` or
    ``"streamable_http"``; by default SSE when the url path ends in ``/sse``).
    """
    if spec.get("command"):
        args = spec.get("args") or []
        if not isinstance(args, list):
            raise ValueError(f"MCP server 'args' must be a list, got {args!r}")
        env_in = spec.get("env") or {}
        if not isinstance(env_in, Mapping):
            raise ValueError(f"MCP server 'env' must be an object, got {env_in!r}")
        env = {}
        for key, value in env_in.items():
            text = "" if value is None else str(value)
            env[str(key)] = text or os.environ.get(str(key), "")
        cwd = spec.get("working_dir") or spec.get("cwd")
        return {
            "command": str(spec["command"]),
            "args": [str(a) for a in args],
            "env": env,
            "cwd": str(cwd) if cwd else None,
            "tool_prefix": spec.get("tool_prefix"),
        }
    url = spec.get("url")
    if not url:
        raise ValueError(
            f"MCP server needs 'command' (a local stdio server) or 'url' (an HTTP server), got keys {sorted(spec)!r}"
        )
    url = str(url)
    transport = spec.get("transport") or ("sse" if url.rstrip("/").endswith("/sse") else "streamable_http")
    if transport not in ("sse", "streamable_http", "http"):
        raise ValueError(f"MCP server transport must be 'sse' or 'streamable_http', got {transport!r}")
    headers = spec.get("headers") or {}
    return {
        "url": url,
        "headers": {str(k): str(v) for k, v in dict(headers).items()},
        "transport": "sse" if transport == "sse" else "streamable_http",
        "tool_prefix": spec.get("tool_prefix"),
    }


def describe_server(server: Mapping[str, Any]) -> str:
    """A short label for messages, never including env values or headers (they carry secrets)."""
    if "command" in server:
        return f"stdio server {' '.join([server['command'], *server['args']])!r}"
    return f"{server['transport']} server {server['url']!r}"


class McpConnection:
    """One running server connection; use :meth:`call_tool` and :meth:`list_tools` from any task."""

    def __init__(
        self, server: dict[str, Any], read_timeout: float | None, connect_timeout: float = CONNECT_TIMEOUT
    ) -> None:
        self.server = server
        self.label = describe_server(server)
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self._scope: anyio.CancelScope | None = None
        self.client: Any = None
        self.error: BaseException | None = None
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._closed = anyio.Event()

    def _target(self, stack: AsyncExitStack) -> Any:
        server = self.server
        if "command" in server:
            from mcp.client.stdio import StdioServerParameters, get_default_environment

            return StdioServerParameters(
                command=server["command"],
                args=server["args"],
                env={**get_default_environment(), **server["env"]},
                cwd=server["cwd"],
            )
        if server["transport"] == "sse":
            from mcp.client.sse import sse_client

            return sse_client(server["url"], headers=server["headers"] or None)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers=server["headers"] or None, timeout=httpx2.Timeout(30.0, read=300.0))
        stack.push_async_callback(http.aclose)
        return streamable_http_client(server["url"], http_client=http)

    async def own(self) -> None:
        """The owner task: connect, serve calls until told to stop, then disconnect."""
        from mcp.client import Client

        try:
            with anyio.CancelScope() as self._scope:  # cancelled when starting takes too long
                async with AsyncExitStack() as stack:
                    client = Client(self._target(stack), read_timeout_seconds=self.read_timeout)
                    self.client = await stack.enter_async_context(client)
                    self._ready.set()
                    await self._stop.wait()
        except Exception as exc:  # reported to every step that uses this server
            self.error = exc
        finally:
            self.client = None
            self._ready.set()
            self._closed.set()

    async def close(self) -> None:
        """Ask the owner to disconnect and wait (bounded) until it has."""
        self._stop.set()
        with anyio.move_on_after(SHUTDOWN_TIMEOUT, shield=True):
            await self._closed.wait()

    async def _connected(self) -> Any:
        with anyio.move_on_after(self.connect_timeout):
            await self._ready.wait()
        if not self._ready.is_set():
            if self.error is None:
                self.error = TimeoutError(
                    f"it did not answer MCP's initialize within {self.connect_timeout:g} s; check that the "
                    "command starts an MCP server (or raise config mcp_connect_timeout)"
                )
            if self._scope is not None:
                self._scope.cancel()
            await self._ready.wait()
        if self.client is None:
            reason = _describe(self.error) if self.error else "the connection is closed"
            raise StepError(f"could not connect to MCP {self.label}: {reason}") from self.error
        return self.client

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """The ``CallToolResult`` of ``name``; transport failures become :class:`StepError`."""
        client = await self._connected()
        try:
            return await client.call_tool(name, arguments)
        except Exception as exc:  # protocol/transport failure: name the server and tool
            raise StepError(f"calling tool {name!r} on MCP {self.label} failed: {_describe(exc)}") from exc

    async def list_tools(self) -> list[Any]:
        """Every tool the server offers."""
        client = await self._connected()
        tools: list[Any] = []
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return tools


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return str(exc).strip() or type(exc).__name__


class McpRegistry:
    """The run's connections by normalised config."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self.connections: dict[str, McpConnection] = {}

    def get(
        self, server: dict[str, Any], read_timeout: float | None = None, connect_timeout: float = CONNECT_TIMEOUT
    ) -> McpConnection:
        """The connection for ``server`` (normalised), started on first use."""
        key = json.dumps({k: v for k, v in server.items() if k != "tool_prefix"}, sort_keys=True)
        connection = self.connections.get(key)
        if connection is None:
            connection = self.connections[key] = McpConnection(server, read_timeout, connect_timeout)
            self.run.add_cleanup(connection.close)
            self.run.start_background(connection.own, f"mcp {connection.label}")
        return connection


def mcp_registry(run: RunState) -> McpRegistry:
    """The run's :class:`McpRegistry`."""
    return run.service(MCP_SERVICE, lambda: McpRegistry(run))
