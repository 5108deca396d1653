"""Acceptance tests for issue 4: llm_generate and mcp on current SDKs, written black-box from the
issue's words. Providers are driven through their real SDKs against a loopback server
(``loopback_llm.py``); MCP runs against a real server process (``mcp_tools_server.py``)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from recipe_executor import Context, Executor
from recipe_executor.errors import RecipeExecutorError, RecipeValidationError

from .loopback_llm import LoopbackLLM, Reply

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MCP_SERVER = HERE / "mcp_tools_server.py"
STDIO = {"command": sys.executable, "args": [str(MCP_SERVER), "stdio"]}
PROVIDER_ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_BASE_URL",
    "AZURE_OPENAI_DEPLOYMENT_NAME", "AZURE_USE_MANAGED_IDENTITY", "OLLAMA_BASE_URL",
)


@pytest.fixture(autouse=True)
def _clean_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm() -> Iterator[LoopbackLLM]:
    server = LoopbackLLM()
    yield server
    server.close()


def cfg(server: LoopbackLLM, **extra: Any) -> dict[str, Any]:
    return {
        "openai_api_key": "sk-acceptance",
        "openai_base_url": f"{server.url}/v1",
        "anthropic_api_key": "ant-acceptance",
        "anthropic_base_url": server.url,
        "azure_openai_base_url": server.url,
        "azure_openai_api_key": "az-acceptance",
        "ollama_base_url": server.url,
        **extra,
    }


def gen(model: str | None = "openai/gpt-4o", output_format: Any = "text", **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"prompt": "hello there", "output_format": output_format, **extra}
    if model is not None:
        config["model"] = model
    return {"type": "llm_generate", "config": config}


async def run(steps: list[Any], config: dict[str, Any] | None = None, **artifacts: Any) -> tuple[Context, Executor]:
    context = Context(artifacts=artifacts, config=config or {})
    executor = Executor(logging.getLogger("acceptance"))
    await executor.execute({"steps": steps}, context)
    return context, executor


def usage_of(executor: Executor) -> dict[str, dict[str, int]]:
    assert executor.last_run is not None
    usage = executor.last_run.peek_service("llm.usage")
    assert usage is not None
    return usage.as_dict()  # type: ignore[no-any-return]


def marker_step(tmp_path: Path) -> dict[str, Any]:
    return {"type": "write_files", "config": {"files": [{"path": "ran.txt", "content": "x"}], "root": str(tmp_path)}}


def cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("recipe-executor")
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# llm_generate: fields, model ids, providers
# ---------------------------------------------------------------------------------------------


async def test_text_answer_is_stored_under_default_output_key_llm_output(llm: LoopbackLLM) -> None:
    context, _ = await run([gen()], cfg(llm))
    assert context["llm_output"] == "echo: hello there"


async def test_prompt_model_output_key_and_max_tokens_are_rendered(llm: LoopbackLLM) -> None:
    step = {"type": "llm_generate", "config": {
        "prompt": "Say {{ word }}", "model": "{{ provider }}/{{ name }}", "max_tokens": "{{ limit }}",
        "output_format": "text", "output_key": "{{ key }}"}}
    context, _ = await run([step], cfg(llm), word="owl", provider="openai", name="gpt-x", limit="77", key="answer")
    assert context["answer"] == "echo: Say owl"
    body = llm.requests[-1]["body"]
    assert body["model"] == "gpt-x"
    assert 77 in (body.get("max_tokens"), body.get("max_completion_tokens"))


async def test_max_tokens_as_integer_reaches_anthropic(llm: LoopbackLLM) -> None:
    await run([gen("anthropic/claude-z", max_tokens=123)], cfg(llm))
    assert llm.requests[-1]["body"]["max_tokens"] == 123


async def test_model_defaults_to_config_model(llm: LoopbackLLM) -> None:
    context, _ = await run([gen(None, output_key="o")], cfg(llm, model="anthropic/claude-from-config"))
    assert context["o"] == "echo: hello there"
    assert llm.requests[-1]["path"].endswith("/v1/messages")
    assert llm.requests[-1]["body"]["model"] == "claude-from-config"


async def test_model_defaults_to_openai_gpt_4o_without_config_model(llm: LoopbackLLM) -> None:
    await run([gen(None)], cfg(llm))
    assert llm.requests[-1]["path"].endswith("/chat/completions")
    assert llm.requests[-1]["body"]["model"] == "gpt-4o"


@pytest.mark.parametrize(
    ("model", "path_part", "sent_model", "auth"),
    [
        ("openai/gpt-4o-mini", "/v1/chat/completions", "gpt-4o-mini", ("authorization", "Bearer sk-acceptance")),
        ("azure/gpt-4o/dep-one", "/openai/deployments/dep-one/chat/completions", None, ("api-key", "az-acceptance")),
        ("azure/gpt-4o", "/openai/deployments/gpt-4o/chat/completions", None, ("api-key", "az-acceptance")),
        ("anthropic/claude-q", "/v1/messages", "claude-q", ("*", "ant-acceptance")),
        ("ollama/llama3.2", "/v1/chat/completions", "llama3.2", None),
        ("openai_responses/gpt-5", "/v1/responses", "gpt-5", ("authorization", "Bearer sk-acceptance")),
        ("azure_responses/gpt-4o/dep-two", "/responses", "dep-two", ("api-key", "az-acceptance")),
    ],
)
async def test_every_provider_answers_text_through_its_real_sdk(
    llm: LoopbackLLM, model: str, path_part: str, sent_model: str | None, auth: tuple[str, str] | None
) -> None:
    context, executor = await run([gen(model, output_key="o")], cfg(llm))
    assert context["o"] == "echo: hello there"
    request = llm.requests[-1]
    assert path_part in request["path"]
    if sent_model is not None:
        assert request["body"]["model"] == sent_model
    if auth is not None:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        if auth[0] == "*":  # the SDK chooses the header (x-api-key or a bearer token)
            assert any(auth[1] in value for value in headers.values())
        else:
            assert headers.get(auth[0]) == auth[1]
    assert usage_of(executor)[model]["requests"] == 1


async def test_openai_base_url_from_environment_reaches_a_compatible_server(
    llm: LoopbackLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{llm.url}/v1")
    context, _ = await run([gen("openai/local-llama", output_key="o")], {})
    assert context["o"] == "echo: hello there"
    assert llm.requests[0]["body"]["model"] == "local-llama"


async def test_openai_responses_honours_openai_base_url_without_a_key(llm: LoopbackLLM) -> None:
    context, _ = await run([gen("openai_responses/local", output_key="o")], {"openai_base_url": f"{llm.url}/v1"})
    assert context["o"] == "echo: hello there"
    assert llm.requests[0]["path"].endswith("/v1/responses")


def test_cli_openai_base_url_config_reaches_a_compatible_server(llm: LoopbackLLM, tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [
        gen("openai/qwen", output_key="o"),
        {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "o.txt", "content": "{{ o }}"}]}},
    ]}))
    result = cli([str(recipe), "--config", f"openai_base_url={llm.url}/v1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o.txt").read_text() == "echo: hello there"


# ---------------------------------------------------------------------------------------------
# The offline test provider
# ---------------------------------------------------------------------------------------------

RICH_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "A short title"},
        "kind": {"type": "string", "enum": ["report", "memo"]},
        "score": {"type": "number"},
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "meta": {"type": "object"},
        "sections": {
            "type": "array",
            "items": {"type": "object", "properties": {"heading": {"type": "string"},
                                                        "lines": {"type": "array", "items": {"type": "string"}}},
                      "required": ["heading", "lines"]},
        },
    },
    "required": ["title", "kind", "sections", "meta"],
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the offline test provider must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


async def test_test_provider_text_files_objects_and_lists_offline_and_deterministic(
    no_network: None, tmp_path: Path
) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    steps = [
        gen("test/alpha", "text", output_key="text"),
        gen("test/alpha", "files", output_key="files"),
        gen("test/alpha", RICH_SCHEMA, output_key="obj"),
        gen("test/alpha", [{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}],
            output_key="items"),
        {"type": "write_files", "config": {"files_key": "files", "root": str(tmp_path)}},
    ]
    first, _ = await run(steps)
    second, _ = await run(steps)
    for key in ("text", "files", "obj", "items"):
        assert first[key] == second[key]
    assert isinstance(first["text"], str) and first["text"]
    assert isinstance(first["files"], list) and first["files"]
    for spec in first["files"]:
        assert set(spec) >= {"path", "content"}
        assert (tmp_path / spec["path"]).read_text() == spec["content"]
    assert list(Draft202012Validator(RICH_SCHEMA).iter_errors(first["obj"])) == []
    assert isinstance(first["items"], list) and all(isinstance(i["name"], str) for i in first["items"])


async def test_test_provider_needs_no_api_key_and_is_used_via_config_model(no_network: None) -> None:
    context, executor = await run([gen(None, output_key="o")], {"model": "test/offline"})
    assert isinstance(context["o"], str) and context["o"]
    assert "test/offline" in usage_of(executor)


def test_cli_runs_llm_recipe_offline_with_config_model_test(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [
        {"type": "llm_generate", "config": {"prompt": "Write files about {{ topic }}", "output_format": "files",
                                            "output_key": "files", "model": "{{ model | default: 'openai/gpt-4o' }}"}},
        {"type": "write_files", "config": {"files_key": "files", "root": str(tmp_path / "out")}},
    ]}))
    result = cli([str(recipe), "--context", "topic=owls", "model=test/cli", "--log-dir", str(tmp_path / "logs")],
                 tmp_path)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "out").iterdir())


# ---------------------------------------------------------------------------------------------
# output_format through a real provider
# ---------------------------------------------------------------------------------------------


async def test_files_output_is_plain_data_for_templates_json_and_write_files(llm: LoopbackLLM, tmp_path: Path) -> None:
    llm.structured = {"files": [{"path": "a/one.md", "content": "# One"}, {"path": "two.txt", "content": "2"}]}
    steps = [
        gen(output_format="files", output_key="files"),
        {"type": "write_files", "config": {"files_key": "files", "root": str(tmp_path)}},
        {"type": "set_context", "config": {"key": "first", "value": "{{ files[0].path }}"}},
        {"type": "set_context", "config": {"key": "dump", "value": "{{ files | json }}"}},
    ]
    context, _ = await run(steps, cfg(llm))
    assert context["files"] == llm.structured["files"]
    assert context["first"] == "a/one.md"
    assert json.loads(context["dump"]) == llm.structured["files"]
    assert (tmp_path / "a" / "one.md").read_text() == "# One"
    assert (tmp_path / "two.txt").read_text() == "2"
    assert json.loads(context.json())  # the whole context is JSON-serialisable


async def test_nested_object_without_properties_keeps_its_data(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {"meta": {"type": "object"}}, "required": ["meta"]}
    llm.structured = {"meta": {"deep": {"x": [1, 2, {"y": None}]}, "flag": True}}
    context, _ = await run([gen(output_format=schema, output_key="o")], cfg(llm))
    assert context["o"] == llm.structured


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-q", "openai_responses/gpt-4o"])
async def test_schema_description_and_enum_are_sent_to_the_model(llm: LoopbackLLM, model: str) -> None:
    schema = {"type": "object", "properties": {
        "mood": {"type": "string", "enum": ["calm", "angry"], "description": "the speaker's mood, one word"}},
        "required": ["mood"]}
    llm.structured = {"mood": "angry"}
    context, _ = await run([gen(model, schema, output_key="o")], cfg(llm))
    assert context["o"] == {"mood": "angry"}
    sent = json.dumps(llm.requests[-1]["body"])
    assert "the speaker's mood, one word" in sent
    assert '"calm"' in sent


@pytest.mark.parametrize("model", ["openai/gpt-4o", "openai_responses/gpt-4o", "anthropic/claude-q"])
async def test_free_form_nested_object_is_not_sent_as_an_empty_object(llm: LoopbackLLM, model: str) -> None:
    schema = {"type": "object", "properties": {"meta": {"type": "object", "description": "anything"}},
              "required": ["meta"]}
    llm.structured = {"meta": {"k": 1}}
    await run([gen(model, schema, output_key="o")], cfg(llm))
    tools = llm.requests[-1]["body"]["tools"]
    sent = tools[0].get("parameters") or tools[0].get("input_schema") or tools[0]["function"]["parameters"]
    meta = sent["properties"]["meta"]
    assert meta.get("additionalProperties", True) is not False  # the model may fill it
    assert not meta.get("properties") and meta.get("description") == "anything"


async def test_answer_outside_the_enum_goes_back_to_the_model(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {"mood": {"type": "string", "enum": ["calm", "angry"]}},
              "required": ["mood"]}
    llm.structured_sequence.extend([{"mood": "zzz"}, {"mood": "calm"}])
    context, _ = await run([gen(output_format=schema, output_key="o")], cfg(llm))
    assert context["o"] == {"mood": "calm"}
    assert len(llm.requests) == 2


async def test_answer_that_never_fits_the_schema_fails_the_step_clearly(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    llm.structured = {"n": "not a number"}
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen(output_format=schema, output_key="o")], cfg(llm))
    message = str(info.value)
    assert "steps[0] llm_generate" in message
    assert "openai/gpt-4o" in message
    assert "'not a number'" in message  # what was wrong with the answer
    assert "Traceback" not in message


async def test_missing_required_field_goes_back_to_the_model(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
              "required": ["a", "b"]}
    llm.structured_sequence.extend([{"a": "only"}, {"a": "both", "b": 2}])
    context, _ = await run([gen(output_format=schema, output_key="o")], cfg(llm))
    assert context["o"] == {"a": "both", "b": 2}


async def test_nullable_fields_and_arrays_keep_their_values(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {
        "note": {"type": ["string", "null"]},
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
    }, "required": ["note", "maybe", "tags", "matrix"]}
    llm.structured = {"note": None, "maybe": None, "tags": ["a", "b"], "matrix": [[1.5, 2], []]}
    context, _ = await run([gen(output_format=schema, output_key="o")], cfg(llm))
    assert context["o"] == llm.structured


async def test_optional_fields_may_be_left_out(llm: LoopbackLLM) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}
    llm.structured = {"a": "x"}
    context, _ = await run([gen(output_format=schema, output_key="o")], cfg(llm))
    assert context["o"]["a"] == "x"
    assert context["o"].get("b") is None


async def test_one_element_list_output_format_stores_a_list(llm: LoopbackLLM) -> None:
    item = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name"]}
    llm.structured = {"items": [{"name": "ann", "age": 3}, {"name": "bob"}]}
    context, _ = await run([gen(output_format=[item], output_key="people"),
                            {"type": "set_context", "config": {"key": "second", "value": "{{ people[1].name }}"}}],
                           cfg(llm))
    assert context["people"][0] == {"name": "ann", "age": 3}
    assert context["people"][1]["name"] == "bob"
    assert context["second"] == "bob"


@pytest.mark.parametrize(
    ("output_format", "words"),
    [
        ("json", "output_format"),
        ([{"type": "object"}, {"type": "object"}], "output_format"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "'b'"),
    ],
)
async def test_unusable_output_format_is_a_validation_error_before_anything_runs(
    tmp_path: Path, output_format: Any, words: str
) -> None:
    with pytest.raises(RecipeValidationError) as info:
        await run([marker_step(tmp_path), gen("test/x", output_format)])
    assert words in str(info.value)
    assert "steps[1] llm_generate" in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


# ---------------------------------------------------------------------------------------------
# Errors before any request
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("opnai/gpt-4o", ["'opnai'", "openai"]),
        ("gemini/pro", ["'gemini'"]),
        ("gpt-4o", ["'gpt-4o'", "provider/model"]),
        ("openai:gpt-4o", ["'openai:gpt-4o'", "/"]),
        ("openai/", ["'openai/'"]),
    ],
)
async def test_bad_model_ids_fail_validation_naming_step_model_and_fix(
    llm: LoopbackLLM, tmp_path: Path, model: str, words: list[str]
) -> None:
    with pytest.raises(RecipeValidationError) as info:
        await run([marker_step(tmp_path), gen(model)], cfg(llm))
    message = str(info.value)
    assert "steps[1] llm_generate" in message
    for word in words:
        assert word in message
    assert not (tmp_path / "ran.txt").exists()
    assert llm.requests == []


async def test_bad_model_id_from_a_template_fails_before_any_request(llm: LoopbackLLM) -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen("{{ m }}")], cfg(llm), m="nosuch/model")
    assert "'nosuch'" in str(info.value) and "steps[0] llm_generate" in str(info.value)
    assert llm.requests == []


@pytest.mark.parametrize(
    ("model", "fix"),
    [
        ("openai/gpt-4o", "OPENAI_API_KEY"),
        ("openai_responses/gpt-4o", "OPENAI_API_KEY"),
        ("anthropic/claude-q", "ANTHROPIC_API_KEY"),
        ("azure/gpt-4o", "AZURE_OPENAI_API_KEY"),
    ],
)
async def test_missing_api_key_fails_before_anything_runs(tmp_path: Path, model: str, fix: str) -> None:
    config = {"azure_openai_base_url": "http://127.0.0.1:9"}
    with pytest.raises(RecipeExecutorError) as info:
        await run([marker_step(tmp_path), gen(model)], config)
    message = str(info.value)
    assert model in message and fix in message
    assert "steps[1] llm_generate" in message
    assert not (tmp_path / "ran.txt").exists()


async def test_missing_api_key_for_templated_model_fails_before_any_request(llm: LoopbackLLM) -> None:
    config = {"anthropic_base_url": llm.url}  # a server, but no key
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen("{{ m }}")], config, m="anthropic/claude-q")
    assert "anthropic/claude-q" in str(info.value) and "ANTHROPIC_API_KEY" in str(info.value)
    assert llm.requests == []


async def test_azure_managed_identity_without_its_sdk_fails_before_any_request(llm: LoopbackLLM) -> None:
    try:
        import azure.identity  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("azure-identity is installed here")
    config = {"azure_openai_base_url": llm.url, "azure_use_managed_identity": True}
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen("azure/gpt-4o/dep")], config)
    assert "azure-identity" in str(info.value)
    assert llm.requests == []


def test_cli_missing_key_is_one_line_exit_1_without_traceback(tmp_path: Path) -> None:
    recipe = tmp_path / "main.json"
    parallel = {"type": "parallel", "config": {"substeps": [gen("anthropic/claude-q")]}}
    recipe.write_text(json.dumps({"steps": [parallel]}))
    result = cli([str(recipe), "--log-dir", str(tmp_path / "logs")], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "main.json" in result.stderr and "llm_generate" in result.stderr
    assert "anthropic/claude-q" in result.stderr and "ANTHROPIC_API_KEY" in result.stderr


def test_missing_optional_sdk_is_reported_with_the_install_command(tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'anthropic' or name.startswith('anthropic.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [marker_step(tmp_path), gen("anthropic/claude-q")]}))
    result = cli([str(recipe), "--config", "anthropic_api_key=k", "--log-dir", str(tmp_path / "logs")], tmp_path,
                 env={"PYTHONPATH": str(hide)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "anthropic" in result.stderr and "pip install" in result.stderr
    assert not (tmp_path / "ran.txt").exists()


async def test_builtin_tools_on_a_chat_model_fail_validation(tmp_path: Path) -> None:
    with pytest.raises(RecipeValidationError) as info:
        await run([marker_step(tmp_path), gen("openai/gpt-4o", openai_builtin_tools=[{"type": "web_search_preview"}])])
    assert "openai_builtin_tools" in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


async def test_builtin_tools_are_sent_to_the_responses_api(llm: LoopbackLLM) -> None:
    step = gen("openai_responses/gpt-4o", openai_builtin_tools=[{"type": "web_search_preview"}], max_tokens=50)
    context, _ = await run([step], cfg(llm))
    body = llm.requests[-1]["body"]
    assert any(t.get("type") == "web_search_preview" for t in body.get("tools", []))
    assert body.get("max_output_tokens") == 50
    assert context["llm_output"] == "echo: hello there"


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-q", "openai_responses/gpt-4o", "azure/gpt-4o"])
async def test_429_and_5xx_are_retried_until_success(llm: LoopbackLLM, model: str) -> None:
    llm.script.extend([Reply(429, {"Retry-After": "0"}), Reply(500, {"Retry-After": "0"}),
                       Reply(502, {"Retry-After": "0"}), Reply(503, {"Retry-After": "0"})])
    context, executor = await run([gen(model, output_key="o")], cfg(llm))
    assert context["o"] == "echo: hello there"
    assert len(llm.requests) == 5
    assert usage_of(executor)[model]["requests"] == 1


async def test_retry_after_is_honoured(llm: LoopbackLLM) -> None:
    llm.script.append(Reply(429, {"Retry-After": "1"}))
    started = time.monotonic()
    await run([gen()], cfg(llm))
    assert time.monotonic() - started >= 0.9
    assert len(llm.requests) == 2


async def test_connection_reset_is_retried(llm: LoopbackLLM) -> None:
    llm.script.append(Reply(drop=True))
    context, _ = await run([gen(output_key="o")], cfg(llm))
    assert context["o"] == "echo: hello there"
    assert len(llm.requests) == 2


async def test_llm_timeout_bounds_each_request_and_a_timeout_is_retried(llm: LoopbackLLM) -> None:
    llm.script.append(Reply(delay=3.0))
    context, _ = await run([gen(output_key="o")], cfg(llm, llm_timeout=0.5))
    assert context["o"] == "echo: hello there"
    assert len(llm.requests) == 2


async def test_timeouts_that_persist_fail_with_a_message_naming_the_timeout(llm: LoopbackLLM) -> None:
    llm.script.extend([Reply(delay=2.0), Reply(delay=2.0)])
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen()], cfg(llm, llm_timeout=0.3, llm_max_retries=1))
    assert "openai/gpt-4o" in str(info.value)
    assert "timed out" in str(info.value).lower() or "timeout" in str(info.value).lower()
    assert len(llm.requests) == 2


async def test_default_is_five_retries(llm: LoopbackLLM) -> None:
    llm.script.extend([Reply(503, {"Retry-After": "0"})] * 6)
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen()], cfg(llm))
    assert len(llm.requests) == 6
    assert "503" in str(info.value) and "scripted failure 503" in str(info.value)


async def test_five_transient_failures_then_success_succeeds_by_default(llm: LoopbackLLM) -> None:
    llm.script.extend([Reply(500, {"Retry-After": "0"})] * 5)
    context, _ = await run([gen(output_key="o")], cfg(llm))
    assert context["o"] == "echo: hello there"
    assert len(llm.requests) == 6


@pytest.mark.parametrize(("retries", "expected"), [(0, 1), (2, 3)])
async def test_llm_max_retries_from_config(llm: LoopbackLLM, retries: int, expected: int) -> None:
    llm.script.extend([Reply(429, {"Retry-After": "0"})] * 5)
    with pytest.raises(RecipeExecutorError, match="429"):
        await run([gen()], cfg(llm, llm_max_retries=retries))
    assert len(llm.requests) == expected


@pytest.mark.parametrize("status", [400, 401, 403, 404])
@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-q"])
async def test_non_retryable_errors_fail_at_once_with_the_provider_message(
    llm: LoopbackLLM, status: int, model: str
) -> None:
    llm.script.append(Reply(status, {"Retry-After": "0"}))
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen(model)], cfg(llm))
    assert len(llm.requests) == 1
    message = str(info.value)
    assert f"scripted failure {status}" in message
    assert model in message and "steps[0] llm_generate" in message


async def test_malformed_body_fails_with_a_clear_error(llm: LoopbackLLM) -> None:
    llm.script.extend([Reply(200, body="{this is not json")] * 6)
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen()], cfg(llm, llm_max_retries=0))
    assert "openai/gpt-4o" in str(info.value) and "steps[0] llm_generate" in str(info.value)


# ---------------------------------------------------------------------------------------------
# Run-wide limits
# ---------------------------------------------------------------------------------------------


def fan_out(count: int, model: str = "openai/gpt-4o", prefix: str = "o") -> dict[str, Any]:
    return {"type": "parallel", "config": {"substeps": [gen(model, output_key=f"{prefix}{i}") for i in range(count)]}}


async def test_default_concurrency_is_eight_requests_per_provider(llm: LoopbackLLM) -> None:
    llm.release_at = 8
    _, executor = await run([fan_out(12)], cfg(llm))
    assert len(llm.requests) == 12
    assert llm.peak == 8
    assert usage_of(executor)["openai/gpt-4o"]["requests"] == 12


async def test_concurrency_limit_holds_across_nested_parallel_loop_and_sub_recipes(
    llm: LoopbackLLM, tmp_path: Path
) -> None:
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"steps": [fan_out(2, prefix="s")]}))
    loop = {"type": "loop", "config": {"items": "{{ things }}", "item_key": "t", "max_concurrency": 0,
                                       "result_key": "loop_out",
                                       "substeps": [{"type": "execute_recipe", "config": {"recipe_path": str(sub)}},
                                                    gen(output_key="l")]}}
    outer = {"type": "parallel", "config": {"substeps": [loop, fan_out(3), gen(output_key="top")]}}
    llm.release_at = 3
    _, executor = await run([outer], cfg(llm, llm_max_concurrency=3), things=["a", "b", "c"])
    total = 3 * 3 + 3 + 1
    assert len(llm.requests) == total
    assert llm.peak == 3
    assert usage_of(executor)["openai/gpt-4o"]["calls"] == total


async def test_concurrency_of_one_never_deadlocks_deep_nesting(llm: LoopbackLLM, tmp_path: Path) -> None:
    leaf = tmp_path / "leaf.json"
    leaf.write_text(json.dumps({"steps": [fan_out(2, prefix="leaf")]}))
    middle = tmp_path / "middle.json"
    middle.write_text(json.dumps({"steps": [{"type": "parallel", "config": {"substeps": [
        {"type": "execute_recipe", "config": {"recipe_path": str(leaf)}},
        {"type": "execute_recipe", "config": {"recipe_path": str(leaf)}},
        gen(output_key="mid")]}}]}))
    call_middle = {"type": "execute_recipe", "config": {"recipe_path": str(middle)}}
    loop = {"type": "loop", "config": {"items": "{{ things }}", "item_key": "t", "max_concurrency": 0,
                                       "result_key": "r", "substeps": [call_middle]}}
    with anyio.fail_after(45):
        await run([loop], cfg(llm, llm_max_concurrency=1), things=[1, 2, 3, 4])
    assert len(llm.requests) == 4 * 5
    assert llm.peak == 1


async def test_concurrency_limit_is_per_provider(llm: LoopbackLLM) -> None:
    llm.release_at = 2
    outer = {"type": "parallel", "config": {"substeps": [fan_out(2, "openai/gpt-4o", "a"),
                                                         fan_out(2, "anthropic/claude-q", "b")]}}
    await run([outer], cfg(llm, llm_max_concurrency=1))
    assert len(llm.requests) == 4
    assert llm.peak == 2


async def _requests_seen(server: LoopbackLLM, count: int) -> None:
    with anyio.fail_after(20):
        while len(server.requests) < count:
            await anyio.sleep(0.02)


async def test_llm_rpm_holds_requests_beyond_the_per_minute_budget(llm: LoopbackLLM) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, [fan_out(3)], cfg(llm, llm_rpm=2))
        await _requests_seen(llm, 2)
        await anyio.sleep(0.8)
        assert len(llm.requests) == 2  # the third waits for the minute to pass
        tg.cancel_scope.cancel()


async def test_llm_tpm_holds_requests_beyond_the_per_minute_token_budget(llm: LoopbackLLM) -> None:
    big = "word " * 1000
    steps = [{"type": "parallel", "config": {"substeps": [
        {"type": "llm_generate", "config": {"prompt": big, "model": "openai/gpt-4o", "output_format": "text",
                                            "output_key": f"o{i}"}} for i in range(2)]}}]
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, steps, cfg(llm, llm_tpm=300))
        await _requests_seen(llm, 1)
        await anyio.sleep(0.8)
        assert len(llm.requests) == 1
        tg.cancel_scope.cancel()


async def test_limits_under_budget_do_not_slow_a_run(llm: LoopbackLLM) -> None:
    with anyio.fail_after(20):
        await run([fan_out(4)], cfg(llm, llm_rpm=100, llm_tpm=1_000_000))
    assert len(llm.requests) == 4


@pytest.mark.parametrize("key", ["llm_max_concurrency", "llm_rpm", "llm_tpm", "llm_timeout", "llm_max_retries"])
async def test_invalid_limit_values_are_clear_errors(llm: LoopbackLLM, key: str) -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run([gen()], cfg(llm, **{key: "lots"}))
    assert key in str(info.value) and "'lots'" in str(info.value)
    assert llm.requests == []


# ---------------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------------


async def test_usage_is_summed_per_model_over_the_whole_run(llm: LoopbackLLM, tmp_path: Path) -> None:
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"steps": [gen("anthropic/claude-q", output_key="s")]}))
    steps = [fan_out(3), {"type": "execute_recipe", "config": {"recipe_path": str(sub)}}, gen(output_key="last")]
    _, executor = await run(steps, cfg(llm))
    usage = usage_of(executor)
    assert usage["openai/gpt-4o"]["requests"] == 4
    assert usage["openai/gpt-4o"]["input_tokens"] == 40
    assert usage["openai/gpt-4o"]["output_tokens"] == 16
    assert usage["anthropic/claude-q"]["requests"] == 1
    assert usage["anthropic/claude-q"]["input_tokens"] == 10


async def test_usage_is_fresh_for_each_run(llm: LoopbackLLM) -> None:
    executor = Executor(logging.getLogger("acceptance"))
    await executor.execute({"steps": [gen()]}, Context(config=cfg(llm)))
    await executor.execute({"steps": [gen()]}, Context(config=cfg(llm)))
    assert usage_of(executor)["openai/gpt-4o"]["requests"] == 1


async def test_executor_usage_property_for_python_callers(llm: LoopbackLLM) -> None:
    executor = Executor(logging.getLogger("acceptance"))
    assert executor.usage.as_dict() == {}
    llm.script.append(Reply(429, {"Retry-After": "0"}))
    await executor.execute({"steps": [fan_out(2)]}, Context(config=cfg(llm)))
    totals = executor.usage.as_dict()["openai/gpt-4o"]
    assert totals == {"calls": 2, "requests": 2, "input_tokens": 20, "output_tokens": 8, "retries": 1}
    assert "openai/gpt-4o" in (executor.usage.summary() or "")


def test_cli_prints_and_logs_usage_at_the_end_of_the_run(llm: LoopbackLLM, tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [fan_out(2), gen("anthropic/claude-q", output_key="c")]}))
    args = [str(recipe), "--log-dir", str(tmp_path / "logs")]
    for key, value in cfg(llm).items():
        args += ["--config", f"{key}={value}"]
    result = cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    printed = (result.stdout + result.stderr).lower().split("usage", 1)[-1]  # the summary, not per-call lines
    assert "openai/gpt-4o" in printed and "anthropic/claude-q" in printed
    assert "20 input" in printed and "8 output" in printed  # 2 calls x (10 in, 4 out)
    assert "openai/gpt-4o" in (tmp_path / "logs" / "info.log").read_text()


def test_cli_prints_usage_also_when_the_run_fails(llm: LoopbackLLM, tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [gen(output_key="a"), gen(output_key="b")]}))
    llm.script.extend([Reply(200), Reply(401)])
    args = [str(recipe), "--log-dir", str(tmp_path / "logs")]
    for key, value in cfg(llm).items():
        args += ["--config", f"{key}={value}"]
    result = cli(args, tmp_path)
    assert result.returncode == 1
    assert "scripted failure 401" in result.stderr
    summary = (result.stdout + result.stderr).lower().split("usage", 1)
    assert len(summary) == 2, result.stderr  # a usage summary is printed
    assert "openai/gpt-4o" in summary[1] and "10 input" in summary[1]  # the spend of the call that finished


# ---------------------------------------------------------------------------------------------
# MCP
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_http_server(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(MCP_SERVER), kind, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the MCP test server did not start")


@pytest.fixture(scope="module")
def streamable_url() -> Iterator[str]:
    proc, port = start_http_server("http")
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    proc, port = start_http_server("sse")
    yield f"http://127.0.0.1:{port}/sse"
    proc.terminate()
    proc.wait(10)


def mcp(server: dict[str, Any], tool: str, arguments: dict[str, Any], key: str | None = None,
        **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"server": server, "tool_name": tool, "arguments": arguments, **extra}
    if key is not None:
        config["result_key"] = key
    return {"type": "mcp", "config": config}


def pid_of(result: dict[str, Any]) -> int:
    return int(result["structuredContent"]["pid"])


def is_gone(pid: int, wait: float = 10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


async def test_mcp_stdio_result_shape_and_default_result_key() -> None:
    context, _ = await run([mcp(STDIO, "add", {"a": 2, "b": 3})])
    result = context["tool_result"]
    assert set(result) >= {"content", "structuredContent", "isError"}
    assert result["isError"] is False
    assert result["content"][0]["type"] == "text" and result["content"][0]["text"] == "5"
    assert result["structuredContent"] == {"result": 5}


async def test_mcp_arguments_are_rendered_recursively_keeping_types() -> None:
    arguments = {"payload": {"name": "{{ who }}", "n": "{{ count }}", "items": "{{ things }}",
                             "nested": {"list": ["{{ who }}!", 1, {"deep": "{{ count }}"}]}, "flag": True}}
    context, _ = await run([mcp(STDIO, "describe", arguments, "r")], who="ann", count=4, things=["x", "y"])
    out = context["r"]["structuredContent"]
    assert out["payload"] == {"name": "ann", "n": 4, "items": ["x", "y"],
                              "nested": {"list": ["ann!", 1, {"deep": 4}]}, "flag": True}
    assert out["types"]["n"] == "int" and out["types"]["items"] == "list"


async def test_mcp_stdio_command_args_env_and_working_dir_are_rendered(tmp_path: Path) -> None:
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    server = {"command": "{{ python }}", "args": ["{{ script }}", "stdio"], "env": {"SECRET_WORD": "{{ word }}"},
              "working_dir": "{{ wd }}"}
    steps = [mcp(server, "getenv", {"name": "SECRET_WORD"}, "env"), mcp(server, "whoami", {}, "who")]
    context, _ = await run(steps, python=sys.executable, script=str(MCP_SERVER), word="swordfish", wd=str(workdir))
    assert context["env"]["structuredContent"] == {"result": "swordfish"}
    assert Path(context["who"]["structuredContent"]["cwd"]).resolve() == workdir.resolve()


async def test_mcp_tool_name_and_result_key_are_templates() -> None:
    context, _ = await run([mcp(STDIO, "{{ tool }}", {"text": "hi"}, "{{ key }}")], tool="shout", key="loud")
    assert context["loud"]["content"][0]["text"] == "HI"


async def test_mcp_streamable_http_with_rendered_headers(streamable_url: str) -> None:
    server = {"url": "{{ url }}", "headers": {"X-Team": "{{ team }}"}}
    steps = [mcp(server, "header", {"name": "x-team"}, "h"), mcp(server, "add", {"a": "{{ a }}", "b": 1}, "s")]
    context, _ = await run(steps, url=streamable_url, team="blue", a=41)
    assert context["h"]["structuredContent"] == {"result": "blue"}
    assert context["s"]["structuredContent"] == {"result": 42}


async def test_mcp_over_sse(sse_url: str) -> None:
    context, _ = await run([mcp({"url": sse_url}, "add", {"a": 1, "b": 2}, "s"),
                            mcp({"url": sse_url, "headers": {"X-Team": "red"}}, "header", {"name": "x-team"}, "h")])
    assert context["s"]["structuredContent"] == {"result": 3}
    assert context["h"]["structuredContent"] == {"result": "red"}


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_mcp_tool_error_fails_the_step_naming_tool_and_reason(transport: str, streamable_url: str) -> None:
    server = STDIO if transport == "stdio" else {"url": streamable_url}
    with pytest.raises(RecipeExecutorError) as info:
        await run([{"type": "set_context", "config": {"key": "a", "value": "1"}},
                   mcp(server, "explode", {"reason": "kaboom"}, "r")])
    message = str(info.value)
    assert "steps[1] mcp" in message and "'explode'" in message and "kaboom" in message
    assert "ignore_errors" in message


async def test_mcp_tool_error_is_stored_with_ignore_errors() -> None:
    context, _ = await run([mcp(STDIO, "explode", {"reason": "kaboom"}, "r", ignore_errors=True)])
    assert context["r"]["isError"] is True
    assert "kaboom" in json.dumps(context["r"]["content"])


async def test_mcp_unknown_tool_fails_clearly() -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run([mcp(STDIO, "no_such_tool", {}, "r")])
    assert "no_such_tool" in str(info.value) and "steps[0] mcp" in str(info.value)


async def test_mcp_server_command_that_does_not_exist_fails_clearly() -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run([mcp({"command": "definitely-not-a-command-xyz", "args": ["stdio"]}, "add", {}, "r")])
    assert "definitely-not-a-command-xyz" in str(info.value) and "steps[0] mcp" in str(info.value)


async def test_mcp_unreachable_http_server_fails_clearly() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with anyio.fail_after(40):
        with pytest.raises(RecipeExecutorError) as info:
            await run([mcp({"url": url}, "add", {"a": 1, "b": 2}, "r")])
    assert url in str(info.value)


async def test_mcp_server_config_without_command_or_url_is_an_error() -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run([mcp({"cmd": "x"}, "add", {}, "r")])
    assert "command" in str(info.value) and "url" in str(info.value)


async def test_one_server_process_serves_every_step_of_the_run_and_stops_at_the_end(
    llm: LoopbackLLM, tmp_path: Path
) -> None:
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"steps": [mcp(STDIO, "whoami", {}, "in_sub")]}))
    steps = [
        mcp(STDIO, "whoami", {}, "first"),
        {"type": "parallel", "config": {"substeps": [mcp(STDIO, "whoami", {}, f"p{i}") for i in range(3)]}},
        {"type": "loop", "config": {"items": [1, 2], "item_key": "i", "result_key": "looped", "max_concurrency": 0,
                                    "substeps": [mcp(STDIO, "whoami", {}, "who")]}},
        {"type": "execute_recipe", "config": {"recipe_path": str(sub)}},
        gen(output_key="llm", mcp_servers=[STDIO]),
        mcp(STDIO, "whoami", {}, "last"),
    ]
    llm.tool_call = ("whoami", {})
    context, _ = await run(steps, cfg(llm))
    pid = pid_of(context["first"])
    assert pid_of(context["last"]) == pid
    assert pid_of(context["in_sub"]) == pid
    assert str(pid) in context["llm"]  # the model's tool call went to the same process
    assert is_gone(pid)


async def test_server_is_shut_down_when_the_run_fails(tmp_path: Path) -> None:
    steps = [mcp(STDIO, "whoami", {}, "who"),
             {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "pid.txt",
                                                                              "content": "{{ who | json }}"}]}},
             {"type": "read_files", "config": {"path": str(tmp_path / "missing.txt"), "content_key": "x"}}]
    with pytest.raises(RecipeExecutorError):
        await run(steps)
    pid = int(json.loads((tmp_path / "pid.txt").read_text())["structuredContent"]["pid"])
    assert is_gone(pid)


async def test_server_is_shut_down_when_the_run_is_cancelled(tmp_path: Path) -> None:
    steps = [mcp(STDIO, "whoami", {}, "who"),
             {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "pid.txt",
                                                                              "content": "{{ who | json }}"}]}},
             mcp(STDIO, "nap", {"seconds": 30}, "slept")]
    pid_file = tmp_path / "pid.txt"
    with anyio.move_on_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, steps)
            while not pid_file.exists():
                await anyio.sleep(0.05)
            await anyio.sleep(0.3)
            tg.cancel_scope.cancel()
    pid = int(json.loads(pid_file.read_text())["structuredContent"]["pid"])
    assert is_gone(pid)


def test_ctrl_c_exits_130_and_leaves_no_server_process(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [
        mcp(STDIO, "whoami", {}, "who"),
        {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "pid.txt",
                                                                         "content": "{{ who | json }}"}]}},
        mcp(STDIO, "nap", {"seconds": 60}, "slept"),
    ]}))
    exe = Path(sys.executable).with_name("recipe-executor")
    proc = subprocess.Popen([str(exe), str(recipe), "--log-dir", str(tmp_path / "logs")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = tmp_path / "pid.txt"
    deadline = time.monotonic() + 40
    while not pid_file.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert pid_file.exists(), proc.communicate(timeout=10)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    pid = int(json.loads(pid_file.read_text())["structuredContent"]["pid"])
    assert is_gone(pid)


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-q", "openai_responses/gpt-4o"])
async def test_llm_generate_mcp_servers_give_the_model_the_tools(llm: LoopbackLLM, model: str) -> None:
    llm.tool_call = ("shout", {"text": "quiet please"})
    context, _ = await run([gen(model, output_key="o", mcp_servers=[STDIO])], cfg(llm))
    assert "QUIET PLEASE" in context["o"]
    first = json.dumps(llm.requests[0]["body"])
    assert "shout" in first and "whoami" in first  # the server's tools were offered


async def test_llm_generate_mcp_server_over_http_and_structured_output(llm: LoopbackLLM, streamable_url: str) -> None:
    llm.tool_call = ("add", {"a": 20, "b": 22})
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    llm.structured = {"answer": 42}
    context, _ = await run([gen(output_format=schema, output_key="o", mcp_servers=[{"url": "{{ u }}"}])], cfg(llm),
                           u=streamable_url)
    assert context["o"] == {"answer": 42}
    tool_results = [m for r in llm.requests for m in r["body"].get("messages", []) if m.get("role") == "tool"]
    assert tool_results and "42" in json.dumps(tool_results)


async def test_config_mcp_servers_are_added_to_every_llm_generate(llm: LoopbackLLM) -> None:
    llm.tool_call = ("shout", {"text": "from config"})
    context, _ = await run([gen(output_key="o")], cfg(llm, mcp_servers=[STDIO]))
    assert "FROM CONFIG" in context["o"]


async def test_llm_tool_error_is_reported_to_the_model_not_fatal(llm: LoopbackLLM) -> None:
    llm.tool_call = ("explode", {"reason": "model asked"})
    context, _ = await run([gen(output_key="o", mcp_servers=[STDIO])], cfg(llm))
    assert "model asked" in context["o"]


async def test_empty_env_value_takes_the_variable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCEPTANCE_OUTSIDE", "from-env")
    server = {**STDIO, "env": {"ACCEPTANCE_OUTSIDE": ""}}
    context, _ = await run([mcp(server, "getenv", {"name": "ACCEPTANCE_OUTSIDE"}, "r")])
    assert context["r"]["structuredContent"] == {"result": "from-env"}


async def test_llm_generate_mcp_tool_prefix(llm: LoopbackLLM) -> None:
    llm.tool_call = ("calc_add", {"a": 1, "b": 1})
    context, _ = await run([gen(output_key="o", mcp_servers=[{**STDIO, "tool_prefix": "calc"}])], cfg(llm))
    assert "calc_add" in json.dumps(llm.requests[0]["body"]["tools"])
    assert "2" in context["o"]


async def test_inline_step_shape_works_for_llm_generate_and_mcp_in_nested_places(llm: LoopbackLLM) -> None:
    inline_gen = {"type": "llm_generate", "prompt": "hi {{ x }}", "model": "openai/gpt-4o", "output_format": "text",
                  "output_key": "g"}
    inline_mcp = {"type": "mcp", "server": STDIO, "tool_name": "add", "arguments": {"a": "{{ x }}", "b": 1},
                  "result_key": "m"}
    steps = [
        {"type": "parallel", "config": {"substeps": [inline_gen, inline_mcp]}},
        {"type": "loop", "config": {"items": [1], "item_key": "i", "result_key": "r",
                                    "substeps": [inline_gen, inline_mcp]}},
        inline_gen, inline_mcp,
    ]
    context, _ = await run(steps, cfg(llm), x=5)
    assert context["g"] == "echo: hi 5"
    assert context["m"]["structuredContent"] == {"result": 6}


def test_cli_mcp_tool_error_is_one_line_exit_1(tmp_path: Path) -> None:
    recipe = tmp_path / "tools.json"
    recipe.write_text(json.dumps({"steps": [mcp(STDIO, "explode", {"reason": "bad input"}, "r")]}))
    result = cli([str(recipe), "--log-dir", str(tmp_path / "logs")], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "tools.json" in result.stderr and "steps[0] mcp" in result.stderr and "bad input" in result.stderr


def test_cli_validate_reports_a_bad_static_model(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"steps": [gen("openia/gpt-4o")]}))
    result = cli(["validate", str(recipe)], tmp_path)
    assert result.returncode == 1
    assert "'openia'" in result.stderr and "openai" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# The bundled example
# ---------------------------------------------------------------------------------------------


def _example_recipe() -> Path:
    found = [p for p in (REPO / "examples").rglob("*.json")
             if '"llm_generate"' in p.read_text() and '"parallel"' in p.read_text()]
    assert found, "examples/ has no LLM recipe that fans out in parallel"
    return found[0]


def test_example_llm_recipe_runs_offline_with_the_test_provider(tmp_path: Path) -> None:
    recipe = _example_recipe()
    result = cli([str(recipe.relative_to(REPO)), "--config", "model=test/demo", "--context",
                  f"output_root={tmp_path / 'out'}", "--log-dir", str(tmp_path / "logs")], REPO)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) >= 2
    assert "test/demo" in result.stdout + result.stderr


def test_example_llm_recipe_runs_unchanged_against_a_real_provider_api(llm: LoopbackLLM, tmp_path: Path) -> None:
    recipe = _example_recipe()
    result = cli([str(recipe.relative_to(REPO)), "--config", "model=openai/gpt-4o", "--context",
                  f"output_root={tmp_path / 'out'}", "--log-dir", str(tmp_path / "logs")], REPO,
                 env={"OPENAI_API_KEY": "sk-real-looking", "OPENAI_BASE_URL": f"{llm.url}/v1"})
    assert result.returncode == 0, result.stderr
    assert len(llm.requests) >= 2
    assert all(r["path"].endswith("/chat/completions") for r in llm.requests)
    assert "sk-real-looking" not in result.stderr + result.stdout
    assert len(list((tmp_path / "out").iterdir())) >= 2


async def test_a_command_that_is_not_an_mcp_server_fails_instead_of_hanging() -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; print('hello'); time.sleep(60)"]}
    with anyio.fail_after(30):
        with pytest.raises(RecipeExecutorError) as info:
            await run([mcp(silent, "add", {}, "r")], {"mcp_connect_timeout": 1})
    assert "steps[0] mcp" in str(info.value) and "time.sleep(60)" in str(info.value)
