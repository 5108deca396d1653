"""A real HTTP server on 127.0.0.1 that speaks just enough OpenAI Chat Completions, OpenAI
Responses and Anthropic Messages for the real SDKs, with faults on demand.

Answers: a structured-output tool (``final_result``) is called with arguments built from its
schema; another tool is called once (arguments from ``tool_args``) and its result is echoed in
the final text; otherwise the text is ``echo: <last user text>``. ``faults`` is a queue of
``Fault`` applied to the next requests (429 with Retry-After, 500, malformed body, a delay).
``in_flight``/``peak`` count requests between arrival and the start of their response;
``hold_until`` makes each request wait until that many are in flight (bounded), so
concurrency limits can be asserted without timing.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    delay: float = 0.0


def sample(schema: Any, name: str = "value") -> Any:
    """A value valid against a simple JSON schema."""
    if not isinstance(schema, dict):
        return name
    if schema.get("enum"):
        return schema["enum"][-1]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: sample(v, k) for k, v in props.items()} if props else {"free": {"nested": [1, 2]}}
    if kind == "array":
        return [sample(schema.get("items", {}), name)]
    if kind == "integer":
        return 7
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    return f"{name} from server"


class FakeLLMServer:
    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.tool_args: dict[str, Any] = {}
        self.tool_name: str | None = None  # which tool to call (default: the first one offered)
        self.hold_until = 0
        self.hold_timeout = 5.0
        self.in_flight = 0
        self.peak = 0
        self._cond = threading.Condition()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def enter(self) -> None:
        with self._cond:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self._cond.notify_all()
            deadline = time.monotonic() + self.hold_timeout
            while self.hold_until and self.in_flight < self.hold_until and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def leave(self) -> None:
        with self._cond:
            self.in_flight -= 1

    def next_fault(self) -> Fault | None:
        with self._cond:
            return self.faults.popleft() if self.faults else None


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return ""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.fake
        fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        fake.enter()
        try:
            fault = fake.next_fault()
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and (fault.status != 200 or fault.body is not None):
                payload = fault.body if fault.body is not None else json.dumps(
                    {"error": {"message": f"injected {fault.status}", "type": "injected"}}
                )
                status, headers = fault.status, fault.headers
            else:
                status, headers = 200, {}
                payload = json.dumps(self.answer(body))
        finally:
            fake.leave()
        data = payload.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            return self.chat(body)
        if path.endswith("/responses"):
            return self.responses_api(body)
        if path.endswith("/messages"):
            return self.anthropic(body)
        return {"error": {"message": f"unknown path {path}"}}

    def _decide(self, tools: list[tuple[str, dict[str, Any]]], tool_result: str | None, prompt: str) -> Any:
        """("tool", name, args) or ("text", text)."""
        for name, schema in tools:
            if name == "final_result" and tool_result is None:
                return ("tool", name, sample(schema))
        for name, _schema in tools:
            if name != "final_result" and tool_result is None and self.fake.tool_name in (None, name):
                return ("tool", name, self.fake.tool_args)
        if tool_result is not None:
            for name, schema in tools:
                if name == "final_result":
                    return ("tool", name, sample(schema))
            return ("text", f"tool said: {tool_result}")
        return ("text", f"echo: {prompt}")

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        tools = [(t["function"]["name"], t["function"].get("parameters", {})) for t in body.get("tools", [])]
        messages = body.get("messages", [])
        results = [m.get("content") for m in messages if m.get("role") == "tool"]
        decision = self._decide(tools, str(results[-1]) if results else None, _last_user_text(messages))
        fmt = body.get("response_format") or {}
        if decision[0] == "text" and fmt.get("type") == "json_schema":
            decision = ("text", json.dumps(sample(fmt["json_schema"]["schema"])))
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if decision[0] == "tool":
            message["tool_calls"] = [{
                "id": f"call_{len(self.fake.requests)}", "type": "function",
                "function": {"name": decision[1], "arguments": json.dumps(decision[2])},
            }]
            finish = "tool_calls"
        else:
            message["content"] = decision[1]
            finish = "stop"
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def responses_api(self, body: dict[str, Any]) -> dict[str, Any]:
        tools = [(t["name"], t.get("parameters", {})) for t in body.get("tools", []) if t.get("type") == "function"]
        items = body.get("input", [])
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        results = [i.get("output") for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
        decision = self._decide(tools, str(results[-1]) if results else None, _last_user_text(items))
        if decision[0] == "tool":
            output = [{"type": "function_call", "id": "fc_1", "call_id": f"call_{len(self.fake.requests)}",
                       "name": decision[1], "arguments": json.dumps(decision[2]), "status": "completed"}]
        else:
            output = [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": decision[1], "annotations": []}]}]
        return {
            "id": "resp_fake", "object": "response", "created_at": int(time.time()), "status": "completed",
            "model": body.get("model", "fake"), "output": output, "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 11, "output_tokens": 6, "total_tokens": 17,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}},
        }

    def anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        tools = [(t["name"], t.get("input_schema", {})) for t in body.get("tools", [])]
        messages = body.get("messages", [])
        results = [
            p.get("content") for m in messages if isinstance(m.get("content"), list)
            for p in m["content"] if isinstance(p, dict) and p.get("type") == "tool_result"
        ]
        result_text = None
        if results:
            last = results[-1]
            result_text = last if isinstance(last, str) else " ".join(str(p.get("text", "")) for p in last)
        decision = self._decide(tools, result_text, _last_user_text(messages))
        if decision[0] == "tool":
            content = [{"type": "tool_use", "id": f"toolu_{len(self.fake.requests)}", "name": decision[1],
                        "input": decision[2]}]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": decision[1]}]
            stop = "end_turn"
        return {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
