"""Every provider path against the loopback server, through the real SDK clients."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from support.fake_llm_server import FakeLLMServer, Fault

from recipe_executor import Context, Executor
from recipe_executor.errors import RecipeExecutorError

pytestmark = pytest.mark.anyio

OBJECT_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["a", "b"]},
        "meta": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["kind", "meta"],
}


def _config(server: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "openai_api_key": "sk-test",
        "openai_base_url": f"{server.url}/v1",
        "anthropic_api_key": "ak-test",
        "anthropic_base_url": server.url,
        "azure_openai_base_url": server.url,
        "azure_openai_api_key": "az-test",
        "ollama_base_url": server.url,
        "llm_retry_base_delay": 0.001,
        **extra,
    }


async def _run(steps: list[dict[str, Any]], config: dict[str, Any], **artifacts: Any) -> tuple[Context, Executor]:
    context = Context(artifacts=artifacts, config=config)
    executor = Executor(logging.getLogger("test"))
    await executor.execute({"steps": steps}, context)
    return context, executor


def _gen(model: str, output_format: Any = "text", key: str = "out", prompt: str = "hello there") -> dict[str, Any]:
    return {"type": "llm_generate", "config": {"prompt": prompt, "model": model, "output_format": output_format,
                                               "output_key": key}}


@pytest.mark.parametrize(
    ("model", "path_end"),
    [
        ("openai/gpt-4o", "/v1/chat/completions"),
        ("ollama/llama3", "/v1/chat/completions"),
        ("azure/gpt-4o/my-deploy", "/chat/completions"),
        ("anthropic/claude-x", "/v1/messages"),
        ("openai_responses/gpt-4o", "/v1/responses"),
        ("azure_responses/gpt-4o/my-deploy", "/responses"),
    ],
)
async def test_llm_generate_text_through_each_provider(fake_llm: FakeLLMServer, model: str, path_end: str) -> None:
    context, executor = await _run([_gen(model)], _config(fake_llm))
    assert context["out"] == "echo: hello there"
    assert fake_llm.requests[-1]["path"].split("?")[0].endswith(path_end)
    usage = executor.last_run.peek_service("llm.usage") if executor.last_run else None
    assert usage is not None and usage.as_dict()[model]["requests"] == 1
    if model.startswith("azure/"):
        assert "/deployments/my-deploy/" in fake_llm.requests[-1]["path"]


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-x", "openai_responses/gpt-4o"])
async def test_llm_generate_structured_object_keeps_free_form_data(fake_llm: FakeLLMServer, model: str) -> None:
    context, _ = await _run([_gen(model, OBJECT_SCHEMA)], _config(fake_llm))
    assert context["out"] == {"kind": "b", "meta": {"free": {"nested": [1, 2]}}, "tags": ["tags from server"]}
    sent = str(fake_llm.requests[-1]["body"])
    assert "enum" in sent


async def test_llm_generate_files_and_lists_are_plain_data(fake_llm: FakeLLMServer) -> None:
    steps = [
        _gen("openai/gpt-4o", "files", "files"),
        _gen("openai/gpt-4o", [{"type": "object", "properties": {"n": {"type": "integer"}}}], "items"),
    ]
    context, _ = await _run(steps, _config(fake_llm))
    assert context["files"] == [{"path": "path from server", "content": "content from server"}]
    assert context["items"] == [{"n": 7}]
    assert '"path"' in context.json()


async def test_openai_base_url_from_config_reaches_compatible_server(fake_llm: FakeLLMServer) -> None:
    config = {"openai_base_url": f"{fake_llm.url}/v1"}  # no key: local servers need none
    context, _ = await _run([_gen("openai/local-model")], config)
    assert context["out"] == "echo: hello there"
    assert fake_llm.requests[0]["body"]["model"] == "local-model"


async def test_rate_limited_request_is_retried_after_retry_after(fake_llm: FakeLLMServer) -> None:
    fake_llm.faults.extend([Fault(429, {"Retry-After": "0"}), Fault(500), Fault(503)])
    context, executor = await _run([_gen("openai/gpt-4o")], _config(fake_llm))
    assert context["out"] == "echo: hello there"
    assert len(fake_llm.requests) == 4
    usage = executor.last_run.peek_service("llm.usage") if executor.last_run else None
    assert usage.as_dict()["openai/gpt-4o"]["retries"] == 3
    assert usage.as_dict()["openai/gpt-4o"]["requests"] == 1


async def test_retries_stop_after_llm_max_retries(fake_llm: FakeLLMServer) -> None:
    fake_llm.faults.extend([Fault(500)] * 5)
    with pytest.raises(RecipeExecutorError, match="HTTP 500"):
        await _run([_gen("openai/gpt-4o")], _config(fake_llm, llm_max_retries=2))
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_fail_at_once_with_provider_message(fake_llm: FakeLLMServer, status: int) -> None:
    fake_llm.faults.append(Fault(status))
    with pytest.raises(RecipeExecutorError, match=f"injected {status}") as info:
        await _run([_gen("openai/gpt-4o")], _config(fake_llm))
    assert len(fake_llm.requests) == 1
    assert "steps[0] llm_generate" in str(info.value)


async def test_malformed_body_is_a_clear_step_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.faults.append(Fault(200, body="{not json"))
    with pytest.raises(RecipeExecutorError, match="openai/gpt-4o"):
        await _run([_gen("openai/gpt-4o")], _config(fake_llm, llm_max_retries=0))


async def test_slow_answer_past_llm_timeout_is_retried_then_fails(fake_llm: FakeLLMServer) -> None:
    fake_llm.faults.extend([Fault(delay=1.0), Fault(delay=1.0)])
    with pytest.raises(RecipeExecutorError, match="openai/gpt-4o"):
        await _run([_gen("openai/gpt-4o")], _config(fake_llm, llm_timeout=0.2, llm_max_retries=1))
    assert len(fake_llm.requests) == 2


async def test_concurrency_limit_holds_across_nested_parallel_steps(fake_llm: FakeLLMServer) -> None:
    fake_llm.hold_until = 2  # each request waits until two are in flight (bounded)
    fake_llm.hold_timeout = 0.5
    inner = {"type": "parallel", "config": {"substeps": [_gen("openai/gpt-4o", key=f"i{i}") for i in range(3)]}}
    leaves = [_gen("openai/gpt-4o", key="o"), _gen("openai/gpt-4o")]
    outer = {"type": "parallel", "config": {"substeps": [inner, inner, *leaves]}}
    _, executor = await _run([outer], _config(fake_llm, llm_max_concurrency=2))
    assert len(fake_llm.requests) == 8
    assert fake_llm.peak == 2
    usage = executor.last_run.peek_service("llm.usage") if executor.last_run else None
    assert usage.as_dict()["openai/gpt-4o"]["calls"] == 8


async def test_usage_summary_sums_tokens_per_model(fake_llm: FakeLLMServer) -> None:
    steps = [_gen("openai/gpt-4o", key="a"), _gen("openai/gpt-4o", key="b"), _gen("anthropic/claude-x", key="c")]
    _, executor = await _run(steps, _config(fake_llm))
    usage = executor.last_run.peek_service("llm.usage") if executor.last_run else None
    totals = usage.as_dict()
    assert totals["openai/gpt-4o"] == {"calls": 2, "requests": 2, "input_tokens": 20, "output_tokens": 10, "retries": 0}
    assert totals["anthropic/claude-x"]["input_tokens"] == 12
    assert "total: 3 requests, 32 input + 17 output tokens" in usage.summary()


def _tool_call_body(arguments: dict[str, Any]) -> str:
    import json

    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_x", "type": "function", "function": {"name": "final_result", "arguments": json.dumps(arguments)}}]}
    return json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


async def test_answer_never_matching_the_schema_names_what_was_wrong(fake_llm: FakeLLMServer) -> None:
    fake_llm.faults.extend([Fault(200, body=_tool_call_body({"kind": "zzz", "meta": {}}))] * 3)
    with pytest.raises(RecipeExecutorError, match=r"no answer matching output_format in 3 tries.*at kind: 'zzz'"):
        await _run([_gen("openai/gpt-4o", OBJECT_SCHEMA)], _config(fake_llm))
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("model", ["openai/gpt-4o", "openai_responses/gpt-4o"])
async def test_free_form_object_is_not_sent_to_openai_as_an_empty_object(fake_llm: FakeLLMServer, model: str) -> None:
    await _run([_gen(model, OBJECT_SCHEMA)], _config(fake_llm))
    tools = fake_llm.requests[-1]["body"]["tools"]
    parameters = tools[0].get("parameters") or tools[0]["function"]["parameters"]
    assert parameters["properties"]["meta"].get("additionalProperties") is True


async def test_executor_usage_gives_the_last_runs_totals(fake_llm: FakeLLMServer) -> None:
    _, executor = await _run([_gen("openai/gpt-4o", key="a"), _gen("openai/gpt-4o", key="b")], _config(fake_llm))
    assert executor.usage.as_dict()["openai/gpt-4o"]["input_tokens"] == 20
    assert Executor().usage.as_dict() == {}
