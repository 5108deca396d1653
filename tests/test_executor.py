"""Executor: every recipe source, both step shapes, nothing runs when invalid, step paths across
sub-recipes, depth limits without RecursionError, and run-scoped cleanup."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from recipe_executor import Context, Executor, Recipe, RunOptions
from recipe_executor.errors import (
    RecipeLoadError,
    RecipeValidationError,
    RecursionLimitError,
    StepError,
    TemplateError,
)
from recipe_executor.protocols import ContextProtocol, ExecutorProtocol
from recipe_executor.runtime import current_run
from recipe_executor.steps.base import BaseStep, StepConfig

SET_A = {"type": "set_context", "config": {"key": "a", "value": "{{ seed }}!"}}


def executor(**options: Any) -> Executor:
    return Executor(logging.getLogger("test_executor"), options=RunOptions(**options) if options else None)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_executor_satisfies_the_protocol() -> None:
    assert isinstance(Executor(logging.getLogger("t")), ExecutorProtocol)


@pytest.mark.parametrize("source_kind", ["str path", "Path", "yaml file", "json text", "dict", "Recipe"])
async def test_executor_accepts_every_recipe_source(source_kind: str, in_tmp: Path) -> None:
    recipe = {"steps": [SET_A]}
    source: Any
    if source_kind == "str path":
        source = str(write_json(in_tmp / "r.json", recipe))
    elif source_kind == "Path":
        source = write_json(in_tmp / "r.json", recipe)
    elif source_kind == "yaml file":
        (in_tmp / "r.yaml").write_text("steps:\n  - type: set_context\n    key: a\n    value: '{{ seed }}!'\n")
        source = "r.yaml"
    elif source_kind == "json text":
        source = json.dumps(recipe)
    elif source_kind == "dict":
        source = recipe
    else:
        source = Recipe.model_validate(recipe)
    ctx = Context(artifacts={"seed": "x"})
    await executor().execute(source, ctx)
    assert ctx["a"] == "x!"


async def test_executor_missing_file_says_not_found(in_tmp: Path) -> None:
    with pytest.raises(RecipeLoadError, match=r"recipe file not found: 'missing\.json'"):
        await executor().execute("missing.json", Context())


async def test_executor_runs_both_step_shapes_in_one_recipe() -> None:
    recipe = {
        "steps": [
            {"type": "set_context", "config": {"key": "a", "value": 1}},
            {"type": "set_context", "key": "b", "value": "{{ a }}"},
            {
                "type": "parallel",
                "substeps": [{"type": "set_context", "config": {"key": "c", "value": 3}}],
                "max_concurrency": 1,
            },
        ]
    }
    ctx = Context()
    await executor().execute(recipe, ctx)
    assert ctx.dict() == {"a": 1, "b": 1}


async def test_executor_refuses_a_step_mixing_both_shapes_and_runs_nothing() -> None:
    recipe = {"steps": [SET_A, {"type": "set_context", "key": "b", "config": {"value": 1}}]}
    ctx = Context(artifacts={"seed": "s"})
    with pytest.raises(RecipeValidationError, match=r"steps\[1\]: step 'set_context' mixes both shapes: move key"):
        await executor().execute(recipe, ctx)
    assert "a" not in ctx


async def test_executor_reports_every_problem_at_once_before_anything_runs(in_tmp: Path) -> None:
    recipe = {
        "steps": [
            SET_A,
            {"type": "set_contxt", "config": {}},
            {"type": "parallel", "config": {"substeps": [{"type": "read_files", "config": {}}]}},
            {"type": "set_context", "config": {"key": "x", "value": "{% if %}"}},
        ]
    }
    write_json(in_tmp / "main.json", recipe)
    ctx = Context(artifacts={"seed": "s"})
    with pytest.raises(RecipeValidationError) as caught:
        await executor().execute("main.json", ctx)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 3
    assert problems[0] == "main.json › steps[1] set_contxt: unknown step type 'set_contxt'; did you mean 'set_context'?"
    assert problems[1].startswith("main.json › steps[2] parallel › substeps[0] read_files: invalid config: missing")
    assert problems[2].startswith("main.json › steps[3] set_context: value: invalid Liquid template '{% if %}'")
    assert "a" not in ctx


async def test_executor_error_path_spans_parallel_and_sub_recipes(in_tmp: Path) -> None:
    write_json(in_tmp / "recipes" / "subtask_a.json", {"steps": []})
    write_json(
        in_tmp / "recipes" / "subtask_b.json",
        {
            "steps": [
                {"type": "set_context", "config": {"key": "k", "value": 1}},
                {"type": "set_context", "config": {"key": "k", "value": 2}},
                {"type": "write_files", "config": {"root": "out", "files": [{"path": "/etc/x", "content": "x"}]}},
            ]
        },
    )
    substeps = [
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_a.json"},
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_b.json"},
    ]
    write_json(in_tmp / "main.json", {"steps": [{"type": "parallel", "substeps": substeps}]})
    with pytest.raises(StepError) as caught:
        await executor().execute("main.json", Context())
    assert str(caught.value).startswith(
        "main.json › steps[0] parallel › substeps[1] execute_recipe (recipes/subtask_b.json) › "
        "steps[2] write_files: "
    )
    assert "'/etc/x'" in str(caught.value)
    assert not isinstance(caught.value, BaseExceptionGroup)


async def test_executor_self_recursive_recipe_stops_at_the_depth_limit_with_a_short_message(in_tmp: Path) -> None:
    write_json(in_tmp / "loop.json", {"steps": [{"type": "execute_recipe", "config": {"recipe_path": "loop.json"}}]})
    with pytest.raises(RecursionLimitError) as caught:
        await executor().execute("loop.json", Context())
    message = str(caught.value)
    assert message.startswith("loop.json › steps[0] execute_recipe (loop.json) ×65: sub-recipes nested more than 64")
    assert len(message) < 300


async def test_executor_deep_recursion_never_hits_python_recursion_error(in_tmp: Path) -> None:
    write_json(
        in_tmp / "count.json",
        {
            "steps": [
                {"type": "set_context", "config": {"key": "n", "value": "{{ n | plus: 1 }}"}},
                {"type": "execute_recipe", "config": {"recipe_path": "count.json"}},
            ]
        },
    )
    ctx = Context(artifacts={"n": 0})
    with pytest.raises(RecursionLimitError) as caught:
        await executor(max_depth=400).execute("count.json", ctx)
    assert type(caught.value.__cause__) is not RecursionError
    assert "nested more than 400 levels" in str(caught.value)
    assert ctx["n"] == 401


async def test_executor_custom_step_running_its_own_recipe_counts_towards_the_depth_limit(
    registry: dict[str, type],
) -> None:
    class AgainConfig(StepConfig):
        pass

    class AgainStep(BaseStep[AgainConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            await Executor(self.logger).execute({"steps": [{"type": "again"}]}, context)

    registry["again"] = AgainStep
    with pytest.raises(RecursionLimitError, match="recipes nested more than 5 levels deep"):
        await executor(max_depth=5).execute({"steps": [{"type": "again"}]}, Context())


async def test_executor_strict_templates_name_the_undefined_variable_and_the_step() -> None:
    recipe = {"steps": [SET_A, {"type": "set_context", "config": {"key": "b", "value": "{{ out_dir }}/a.txt"}}]}
    ctx = Context(artifacts={"seed": "s"})
    with pytest.raises(TemplateError) as caught:
        await executor(strict_templates=True).execute(recipe, ctx)
    assert str(caught.value) == (
        "<recipe> › steps[1] set_context: could not render template '{{ out_dir }}/a.txt': 'out_dir' is undefined"
    )
    assert ctx["a"] == "s!"


async def test_executor_lenient_templates_render_undefined_as_empty() -> None:
    ctx = Context()
    await executor().execute({"steps": [{"type": "set_context", "key": "b", "value": "{{ out_dir }}/a.txt"}]}, ctx)
    assert ctx["b"] == "/a.txt"


async def test_executor_unknown_config_key_warns_and_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    ctx = Context()
    recipe = {"steps": [{"type": "set_context", "config": {"key": "a", "value": 1, "if_exist": "merge"}}]}
    with caplog.at_level(logging.WARNING):
        await executor().execute(recipe, ctx)
    assert ctx["a"] == 1
    assert "unknown config key 'if_exist'; did you mean 'if_exists'?" in caplog.text


async def test_executor_strict_makes_unknown_config_keys_errors() -> None:
    recipe = {"steps": [{"type": "set_context", "config": {"key": "a", "value": 1, "if_exist": "merge"}}]}
    ctx = Context()
    with pytest.raises(RecipeValidationError, match="unknown config key 'if_exist'"):
        await executor(strict=True).execute(recipe, ctx)
    assert "a" not in ctx


async def test_executor_runs_cleanups_and_stops_background_tasks_when_the_run_ends(
    registry: dict[str, type],
) -> None:
    events: list[str] = []

    class UsesRunConfig(StepConfig):
        pass

    class UsesRunStep(BaseStep[UsesRunConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            run = current_run()

            async def owner() -> None:
                try:
                    await anyio.sleep_forever()
                finally:
                    events.append("background stopped")

            async def cleanup() -> None:
                events.append("cleanup")

            run.start_background(owner, name="owner")
            run.add_cleanup(cleanup)
            assert run.service("thing", list) is run.service("thing", list)

    registry["uses_run"] = UsesRunStep
    await executor().execute({"steps": [{"type": "uses_run"}]}, Context())
    assert events == ["cleanup", "background stopped"]


async def test_executor_failure_still_runs_cleanups_and_raises_the_step_error_itself(
    registry: dict[str, type],
) -> None:
    events: list[str] = []

    class FailConfig(StepConfig):
        pass

    class FailStep(BaseStep[FailConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            async def cleanup() -> None:
                events.append("cleanup")

            current_run().add_cleanup(cleanup)
            raise OSError("disk full")

    registry["fail"] = FailStep
    with pytest.raises(StepError, match=r"^<recipe> › steps\[0\] fail: disk full$") as caught:
        await executor().execute({"steps": [{"type": "fail"}]}, Context())
    assert isinstance(caught.value.__cause__, OSError)
    assert events == ["cleanup"]


def test_executor_validate_checks_without_running(in_tmp: Path) -> None:
    write_json(in_tmp / "r.json", {"steps": [{"type": "nope"}]})
    with pytest.raises(RecipeValidationError, match="unknown step type 'nope'"):
        executor().validate("r.json")
    write_json(in_tmp / "ok.json", {"steps": [SET_A]})
    assert executor().validate("ok.json").label == "ok.json"
