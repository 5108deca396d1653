"""The LLM families of the upstream corpus run end to end offline.

Recipes whose model is a template run with the offline ``test/compat`` model. Recipes that
hard-code ``openai/gpt-4o`` (example_complex, example_mcp_step) or need a Responses model with
web search (example_builtin_tools) run against the loopback OpenAI server of ``tests/support``
instead, through the real SDK. The MCP servers they start (``python-code-tools``, and ``npx``
for brave search) are stand-ins on ``PATH`` written with the mcp SDK, started as real processes.
Recipes that write relative to the working directory run with ``cwd = tmp_path`` and the
recipe given by absolute path. The corpus itself is never written to (checked after every test).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_llm_server import FakeLLMServer

from recipe_executor.main import main

SUPPORT = Path(__file__).resolve().parent.parent / "support"

CASES = {
    "document_generator": [
        "recipes/document_generator/document_generator_recipe.json",
        "--context",
        "outline_file=recipes/document_generator/examples/launch-documentation.json",
    ],
    "example_simple": [
        "recipes/example_simple/code_from_spec_recipe.json",
        "--context",
        "spec_file=recipes/example_simple/specs/hello-world-spec.txt",
    ],
    "example_quarterly_report": ["recipes/example_quarterly_report/demo_quarterly_report_recipe.json"],
    "generate_from_files": ["recipes/utilities/generate_from_files.json"],
    "recipe_to_mermaid": [
        "recipes/recipe_to_mermaid/generate_mermaid_recipe.json",
        "--context",
        "recipe_path=recipes/example_simple/code_from_spec_recipe.json",
    ],
}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(autouse=True)
def corpus_untouched(compat_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No API keys or base URLs from the environment; the corpus is unchanged by the test."""
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "BRAVE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    before = _snapshot(compat_dir)
    yield
    assert _snapshot(compat_dir) == before, "the test wrote into the read-only corpus"


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    yield server
    server.stop()


def _stand_in(bin_dir: Path, name: str, script: Path) -> None:
    """An executable ``name`` in ``bin_dir`` that runs ``script`` with this interpreter; each start
    appends a line to ``bin_dir/<name>.starts``."""
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / name
    starts = bin_dir / f"{name}.starts"
    exe.write_text(f'#!/bin/sh\necho "$$" >> "{starts}"\nexec "{sys.executable}" "{script}" "$@"\n', encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def code_tools_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``python-code-tools`` on PATH: the MCP server of tests/support/python_code_tools.py."""
    bin_dir = tmp_path / "bin"
    _stand_in(bin_dir, "python-code-tools", SUPPORT / "python_code_tools.py")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def _run(argv: list[str], logs: Path) -> None:
    code = main([*argv, "--log-dir", str(logs), "--log-level", "WARNING"])
    error_log = logs / "error.log"
    assert code == 0, error_log.read_text(encoding="utf-8") if error_log.exists() else f"exit code {code}"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _user_texts(server: FakeLLMServer) -> list[str]:
    """The user prompt of every chat request the loopback server received."""
    texts = []
    for request in server.requests:
        for message in request["body"].get("messages", []):
            if message.get("role") == "user":
                content = message["content"]
                texts.append(content if isinstance(content, str) else json.dumps(content))
    return texts


def _tool_names(request: dict[str, Any]) -> set[str]:
    return {t["function"]["name"] for t in request["body"].get("tools", []) if t.get("type") == "function"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_llm_recipe_runs_offline(
    name: str, compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    _run([*CASES[name], "--context", "model=test/compat", f"output_root={out}"], tmp_path / "logs")
    written = _files(out)
    assert written, f"{name} wrote nothing under {out}"
    assert not any(p.name.startswith(".") and p.suffix == ".tmp" for p in written)


def test_codebase_generator_builds_only_the_requested_component(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    recipe = "recipes/codebase_generator/codebase_generator_recipe.json"
    _run([recipe, "--context", "model=test/compat", f"output_root={out}", "component_id=context"], tmp_path / "logs")
    [written] = _files(out)
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# Generated by test/compat\n")
    assert "Prompt: # Task You are an expert developer." in text


def test_codebase_generator_builds_every_component_of_the_blueprint(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    components = json.loads((compat_dir / "blueprints/recipe_executor/components.json").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    _run(
        [
            "recipes/codebase_generator/codebase_generator_recipe.json",
            "--context",
            "model=test/compat",
            f"output_root={out}",
        ],
        tmp_path / "logs",
    )
    written = _files(out)
    # One file per component: the offline model names each after its (distinct) prompt.
    assert len(components) == 27
    assert len(written) == len(components)
    assert all(p.parent == out and p.read_text(encoding="utf-8").startswith("# Generated by") for p in written)


def test_generate_codebase_blueprint_runs_the_codebase_generator(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    _run(
        [
            "blueprints/recipe_executor/generate_codebase.json",
            "--context",
            "model=test/compat",
            f"output_root={out}",
            "component_id=steps.loop",
        ],
        tmp_path / "logs",
    )
    assert len(_files(out)) == 1


def test_authoring_guide_blueprint_writes_the_guide_from_its_outline(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outline_path = compat_dir / "blueprints/recipe_executor/outlines/recipe-json-authoring-guide.json"
    outline = json.loads(outline_path.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    for resource in outline["resources"]:  # relative to the working directory; the corpus lacks most
        for name in resource["path"].split(","):
            (work / name.strip()).parent.mkdir(parents=True, exist_ok=True)
            (work / name.strip()).write_text(f"# stand-in for {name.strip()}\n", encoding="utf-8")
    monkeypatch.chdir(work)
    out = tmp_path / "out"
    _run(
        [
            str(compat_dir / "blueprints/recipe_executor/generate_authoring_guide.json"),
            "--context",
            "model=test/compat",
            f"recipe_root={compat_dir / 'recipes/document_generator'}",
            f"outline_file={outline_path}",
            f"output_root={out}",
        ],
        tmp_path / "logs",
    )
    [guide] = _files(out)
    assert guide.name == "RECIPE_JSON_AUTHORING_GUIDE.md"
    assert guide.read_text(encoding="utf-8").startswith(f"# {outline['title']}")


def test_content_writer_writes_the_article_relative_to_the_working_directory(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    family = compat_dir / "recipes/example_content_writer"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _run(
        [
            str(family / "generate_content.json"),
            "--context",
            "model=test/compat",
            f"idea={family / 'recipe_creator_idea/content_from_idea.md'}",
            f"files={family / 'data/ai_took_my_job-what_now.md'}",
            f"reference_content={family / 'data/embracing_ai_for_adhd_assistance.md'}",
        ],
        tmp_path / "logs",
    )
    [article] = _files(work)
    assert article.parent == work and article.suffix == ".md"
    assert "Prompt: You are a professional writer." in article.read_text(encoding="utf-8")


RECIPE_CREATOR_CONTEXT = [
    "generated/RECIPE_EXECUTOR_CODE_FILES.md",
    "generated/RECIPE_EXECUTOR_BLUEPRINT_FILES.md",
    "generated/CODEBASE_GENERATOR_RECIPE_FILES.md",
    "generated/RECIPE_JSON_AUTHORING_GUIDE.md",
    "IMPLEMENTATION_PHILOSOPHY.md",
    "MODULAR_DESIGN_PHILOSOPHY.md",
    "git_collector/LIQUID_PYTHON_DOCS.md",
]


def test_recipe_creator_creates_a_recipe_from_an_idea(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ai_context = tmp_path / "ai_context"
    for name in RECIPE_CREATOR_CONTEXT:  # the corpus lacks the generated roll-ups; small stand-ins
        (ai_context / name).parent.mkdir(parents=True, exist_ok=True)
        (ai_context / name).write_text(f"# stand-in for {name}\n", encoding="utf-8")
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    _run(
        [
            "recipes/recipe_creator/create.json",
            "--context",
            "model=test/compat",
            f"ai_context_root={ai_context}",
            f"output_root={out}",
            "input=recipes/recipe_creator/examples/simple-spec-recipe-idea.md",
            "files=recipes/example_simple/specs/hello-world-spec.txt",
        ],
        tmp_path / "logs",
    )
    [recipe] = _files(out)
    assert "Prompt: Create a new JSON recipe file for use with recipe executor" in recipe.read_text(encoding="utf-8")


def test_recipe_creator_without_the_generated_context_names_the_missing_file(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    code = main(
        [
            "recipes/recipe_creator/create.json",
            "--context",
            "model=test/compat",
            f"output_root={tmp_path / 'out'}",
            "input=recipes/recipe_creator/examples/simple-spec-recipe-idea.md",
            "--log-dir",
            str(tmp_path / "logs"),
        ]
    )
    assert code != 0
    assert "ai_context/generated/RECIPE_EXECUTOR_CODE_FILES.md" in (tmp_path / "logs/error.log").read_text("utf-8")
    assert not (tmp_path / "out").exists()


def test_mcp_step_example_lints_with_python_code_tools_and_reports(
    compat_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_llm: FakeLLMServer,
    code_tools_on_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source = work / "sample.py"
    source.write_text("import os\nimport sys\n\nprint(sys.argv, undefined_name)\n", encoding="utf-8")
    monkeypatch.chdir(work)
    _run(
        [
            str(compat_dir / "recipes/example_mcp_step/mcp_step_example.json"),
            "--context",
            f"input={source}",
            "--config",
            f"openai_base_url={fake_llm.url}/v1",
        ],
        tmp_path / "logs",
    )
    [prompt] = _user_texts(fake_llm)
    # A real Ruff run behind lint_code fixed the unused import and kept the undefined name; the
    # tool result (upstream's {meta, content, structuredContent, isError}) reached the prompt.
    assert "'fixed_code': 'import sys\\n\\nprint(sys.argv, undefined_name)\\n'" in prompt
    assert "'fixed_count': 1, 'remaining_count': 1" in prompt
    assert "'code': 'F821'" in prompt
    assert f"Save to: {work / 'sample'}_code_analysis.md" in prompt
    [report] = _files(work / "output")
    assert report.read_text(encoding="utf-8") == "content from server"


def test_complex_example_runs_parallel_generators_with_mcp_tools(
    compat_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_llm: FakeLLMServer,
    code_tools_on_path: Path,
) -> None:
    work = tmp_path / "work"
    docs = work / "ai_context/git_collector/PYDANTIC_AI_DOCS.md"
    docs.parent.mkdir(parents=True)
    docs.write_text("# PydanticAI stand-in docs\n", encoding="utf-8")
    monkeypatch.chdir(work)
    _run(
        [
            str(compat_dir / "recipes/example_complex/complex_example.json"),
            "--config",
            f"openai_base_url={fake_llm.url}/v1",
        ],
        tmp_path / "logs",
    )
    assert len(fake_llm.requests) == 4
    # One server process for the four llm_generate steps, three of them running in parallel.
    [pid] = (code_tools_on_path / "python-code-tools.starts").read_text().split()
    with pytest.raises(ProcessLookupError):  # shut down (and reaped) when the run ended
        os.kill(int(pid), 0)
    for request in fake_llm.requests:  # every call offered the model the stand-in server's tools
        assert "lint_code" in _tool_names(request)
    prompts = _user_texts(fake_llm)
    assert sum("PydanticAI stand-in docs" in p for p in prompts) == 3
    [combined] = [p for p in prompts if p.startswith("You are given three JSON arrays")]
    # Known upstream behaviour, kept: parallel substeps run on clones whose writes are discarded,
    # so the combining step sees the three output keys undefined (docs/compat.md).
    assert "Chat Client Files: \n\nChat Server Files: \n\nLinting Result Files: \n\n" in combined
    [written] = _files(work / "output/complex_example")
    assert written.read_text(encoding="utf-8") == "content from server"


def test_brave_search_example_searches_through_the_mcp_server(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLMServer
) -> None:
    bin_dir = tmp_path / "bin"
    _stand_in(bin_dir, "npx", SUPPORT / "brave_search.py")  # npx would fetch the package from npm
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    fake_llm.tool_name = "brave_web_search"
    fake_llm.tool_args = {"query": "python 3.13", "count": 2}
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    _run(
        [
            "recipes/example_brave_search/search.json",
            "--context",
            "model=openai/gpt-4o",
            "query=python 3.13",
            "brave_api_key=test-key",  # rendered into the server's env; it refuses to start without one
            f"output_root={out}",
            "--config",
            f"openai_base_url={fake_llm.url}/v1",
        ],
        tmp_path / "logs",
    )
    assert [p.name for p in _files(out)] == ["search_results.md"]
    answer = (out / "search_results.md").read_text(encoding="utf-8")
    assert answer.startswith("tool said: ")
    assert "https://search.invalid/python-3-13/2" in answer
    assert "Perform a search for python 3.13 using the Brave Search API" in _user_texts(fake_llm)[0]


def test_builtin_tools_example_sends_web_search_to_the_responses_api(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLMServer
) -> None:
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    _run(
        [
            "recipes/example_builtin_tools/web_search_demo.json",
            "--context",
            f"output_root={out}",
            "--config",
            f"openai_base_url={fake_llm.url}/v1",
            "openai_api_key=test-key",
        ],
        tmp_path / "logs",
    )
    [request] = fake_llm.requests
    assert request["path"].endswith("/responses")
    assert request["body"]["model"] == "gpt-4o"
    assert request["body"]["tools"] == [{"type": "web_search_preview"}]
    answer = (out / "features_summary.md").read_text(encoding="utf-8")
    assert answer.startswith("echo: Search the web for 'latest Python 3.13 features'")


def test_builtin_tools_example_with_the_offline_model_says_it_needs_a_responses_model(
    compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    out = tmp_path / "out"
    code = main(
        [
            "recipes/example_builtin_tools/web_search_demo.json",
            "--context",
            "model=test/compat",
            f"output_root={out}",
            "--log-dir",
            str(tmp_path / "logs"),
        ]
    )
    assert code != 0
    error = (tmp_path / "logs/error.log").read_text(encoding="utf-8")
    assert "openai_builtin_tools need an 'openai_responses/…' or 'azure_responses/…' model" in error
    assert not out.exists()
