"""A loopback HTTP server for the issue-4 acceptance tests, written from the providers' public
wire formats (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages), independent of the
product's own test server.

Behaviour per request: a scripted ``Reply`` from ``script`` if one is queued (status, headers,
body, delay, or ``drop`` to reset the connection), else a normal answer. A normal answer calls
a tool when tools are offered and none has been called yet in the conversation (the output tool
``final_result*`` with ``structured``, or ``tool_call``), otherwise answers text ``echo: <prompt>``
(or ``tool result: <result>`` after a tool call). ``release_at`` holds each request until that
many are in flight at once (bounded by ``hold_timeout``), after which nobody waits, so
concurrency peaks can be asserted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict → JSON, str → raw text; None → the normal answer (or an error body)
    delay: float = 0.0
    drop: bool = False


def sample(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "x"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {k: sample(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}))]
    if kind == "integer":
        return 3
    if kind == "number":
        return 2.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "s"


class LoopbackLLM:
    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.structured: Any = None  # arguments of the output tool; None = sample from the schema
        self.structured_sequence: deque[Any] = deque()  # per-request overrides, first used first
        self.tool_call: tuple[str, dict[str, Any]] | None = None
        self.release_at = 0
        self.released = False
        self.hold_timeout = 5.0
        self.in_flight = 0
        self.peak = 0
        self.usage = (10, 4)
        self._cond = threading.Condition()
        handler = type("H", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, suffix: str = "") -> int:
        return sum(1 for r in self.requests if r["path"].split("?")[0].endswith(suffix))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


class _Handler(BaseHTTPRequestHandler):
    server_state: LoopbackLLM
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        state = self.server_state
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw or b"{}")
        with state._cond:
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            reply = state.script.popleft() if state.script else None
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
            state._cond.notify_all()
            deadline = time.monotonic() + state.hold_timeout
            if state.release_at and state.in_flight >= state.release_at:
                state.released = True  # the peak was reached: nobody waits any more
                state._cond.notify_all()
            while (state.release_at and not state.released and state.in_flight < state.release_at
                   and time.monotonic() < deadline):
                state._cond.wait(deadline - time.monotonic())
        try:
            if reply and reply.delay:
                time.sleep(reply.delay)
            if reply and reply.drop:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True
                self.connection.close()
                return
            if reply and (reply.status != 200 or reply.body is not None):
                status = reply.status
                payload = reply.body if reply.body is not None else {
                    "error": {"message": f"scripted failure {reply.status}", "type": "scripted", "code": None}
                }
                if "/messages" in self.path and reply.body is None:
                    payload = {"type": "error", "error": {"type": "scripted", "message": f"scripted failure {status}"}}
                headers = reply.headers
            else:
                status, headers, payload = 200, {}, self.answer(body)
        finally:
            with state._cond:
                state.in_flight -= 1
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    # -- decisions ---------------------------------------------------------------------------

    def _decide(self, tools: list[tuple[str, Any]], tool_result: str | None, prompt: str) -> tuple[Any, ...]:
        state = self.server_state
        output_tools = [(n, s) for n, s in tools if n.startswith("final_result")]
        if tool_result is None and state.tool_call is not None:
            name, args = state.tool_call
            if any(n == name for n, _ in tools):
                return ("tool", name, args)
        if output_tools:
            name, schema = output_tools[0]
            with state._cond:
                args = state.structured_sequence.popleft() if state.structured_sequence else state.structured
            return ("tool", name, sample(schema) if args is None else args)
        if tool_result is not None:
            return ("text", f"tool result: {tool_result}")
        return ("text", f"echo: {prompt}")

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            return self.chat(body)
        if path.endswith("/responses"):
            return self.responses_api(body)
        if path.endswith("/messages"):
            return self.messages(body)
        return {"error": {"message": f"no such path {path}"}}

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages", [])
        tools = [(t["function"]["name"], t["function"].get("parameters")) for t in body.get("tools", [])]
        results = [_text_of(m.get("content")) for m in messages if m.get("role") == "tool"]
        prompt = next((_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        decision = self._decide(tools, results[-1] if results else None, prompt)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if decision[0] == "tool":
            message["tool_calls"] = [{"id": f"call_{len(self.server_state.requests)}", "type": "function",
                                      "function": {"name": decision[1], "arguments": json.dumps(decision[2])}}]
            finish = "tool_calls"
        else:
            message["content"] = decision[1]
            finish = "stop"
        inp, out = self.server_state.usage
        return {"id": "cc-1", "object": "chat.completion", "created": 1, "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}}

    def responses_api(self, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("input", [])
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        tools = [(t["name"], t.get("parameters")) for t in body.get("tools", []) if t.get("type") == "function"]
        results = [str(i.get("output")) for i in items
                   if isinstance(i, dict) and i.get("type") == "function_call_output"]
        prompt = next((_text_of(i.get("content")) for i in reversed(items)
                       if isinstance(i, dict) and i.get("role") == "user"), "")
        decision = self._decide(tools, results[-1] if results else None, prompt)
        if decision[0] == "tool":
            output = [{"type": "function_call", "id": "fc_1", "call_id": f"call_{len(self.server_state.requests)}",
                       "name": decision[1], "arguments": json.dumps(decision[2]), "status": "completed"}]
        else:
            output = [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": decision[1], "annotations": []}]}]
        inp, out = self.server_state.usage
        return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
                "model": body.get("model"), "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
                "tools": [], "usage": {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
                                       "input_tokens_details": {"cached_tokens": 0},
                                       "output_tokens_details": {"reasoning_tokens": 0}}}

    def messages(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages", [])
        tools = [(t["name"], t.get("input_schema")) for t in body.get("tools", []) if "name" in t]
        results = [
            _text_of(p.get("content")) for m in messages if isinstance(m.get("content"), list)
            for p in m["content"] if isinstance(p, dict) and p.get("type") == "tool_result"
        ]
        prompt = ""
        for m in reversed(messages):
            if m.get("role") == "user":
                parts = m.get("content")
                text = _text_of(parts) if not isinstance(parts, list) else " ".join(
                    str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")
                if text:
                    prompt = text
                    break
        decision = self._decide(tools, results[-1] if results else None, prompt)
        if decision[0] == "tool":
            content = [{"type": "tool_use", "id": f"toolu_{len(self.server_state.requests)}",
                        "name": decision[1], "input": decision[2]}]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": decision[1]}]
            stop = "end_turn"
        inp, out = self.server_state.usage
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"),
                "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": inp, "output_tokens": out}}
