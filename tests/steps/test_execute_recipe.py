"""execute_recipe: path resolution, rendered overrides, scoping, recursion with a depth limit."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, RecursionLimitError, StepError
from recipe_executor.executor import Executor
from recipe_executor.runtime import RunOptions

pytestmark = pytest.mark.anyio

READ_MISSING = {"type": "read_files", "config": {"path": "gone.md", "content_key": "c"}}


def recipe(path: Path, *steps: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"steps": list(steps)}), encoding="utf-8")
    return path


def set_ctx(key: str, value: Any) -> dict[str, Any]:
    return {"type": "set_context", "config": {"key": key, "value": value}}


def call(path: str, **overrides: Any) -> dict[str, Any]:
    return {"type": "execute_recipe", "config": {"recipe_path": path, "context_overrides": overrides}}


async def run(main: Path | dict[str, Any], context: Context | None = None, **options: Any) -> Context:
    context = context if context is not None else Context()
    executor = Executor(logging.getLogger("test"), options=RunOptions(**options) if options else None)
    await executor.execute(main if isinstance(main, dict) else str(main), context)
    return context


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_execute_recipe_runs_the_sub_recipe_on_the_same_context(in_tmp: Path) -> None:
    recipe(in_tmp / "sub.json", set_ctx("written", "by sub: {{ seed }}"))
    ctx = await run({"steps": [call("sub.json")]}, Context(artifacts={"seed": "s"}))
    assert ctx["written"] == "by sub: s"


async def test_execute_recipe_path_is_a_template(in_tmp: Path) -> None:
    recipe(in_tmp / "recipes" / "sub.json", set_ctx("x", 1))
    ctx = await run({"steps": [call("{{ root }}/sub.json")]}, Context(artifacts={"root": "recipes"}))
    assert ctx["x"] == 1


async def test_execute_recipe_prefers_the_working_directory(in_tmp: Path) -> None:
    recipe(in_tmp / "sub.json", set_ctx("from", "cwd"))
    recipe(in_tmp / "family" / "sub.json", set_ctx("from", "beside"))
    main = recipe(in_tmp / "family" / "main.json", call("sub.json"))
    assert (await run(main))["from"] == "cwd"


async def test_execute_recipe_falls_back_to_the_calling_recipes_folder(in_tmp: Path) -> None:
    recipe(in_tmp / "family" / "parts" / "leaf.json", set_ctx("leaf", "ok"))
    recipe(in_tmp / "family" / "parts" / "mid.json", call("leaf.json"))
    main = recipe(in_tmp / "family" / "main.json", call("parts/mid.json"))
    assert (await run(main))["leaf"] == "ok"


async def test_execute_recipe_missing_file_is_a_clear_error(in_tmp: Path) -> None:
    with pytest.raises(StepError) as info:
        await run({"steps": [call("{{ name }}.json")]}, Context(artifacts={"name": "nope"}))
    message = str(info.value)
    assert "steps[0] execute_recipe (nope.json)" in message
    assert "sub-recipe file not found: 'nope.json'" in message


async def test_execute_recipe_error_path_names_the_sub_recipe_and_its_step(in_tmp: Path) -> None:
    recipe(in_tmp / "sub.json", set_ctx("a", 1), READ_MISSING)
    main = recipe(in_tmp / "main.json", call("sub.json"))
    with pytest.raises(StepError) as info:
        await run(main)
    assert "main.json › steps[0] execute_recipe (sub.json) › steps[1] read_files: file not found" in str(info.value)


async def test_execute_recipe_overrides_are_rendered_recursively(in_tmp: Path) -> None:
    recipe(in_tmp / "probe.json", set_ctx("seen", "{{ cfg }}"))
    ctx = Context(artifacts={"name": "Ann", "n": 3})
    await run({"steps": [call("probe.json", cfg={"who": "{{ name }}", "list": ["{{ n }}", "x{{ n }}"]})]}, ctx)
    assert ctx["seen"] == {"who": "Ann", "list": [3, "x3"]}


async def test_execute_recipe_json_override_with_true_false_null_becomes_a_structure(in_tmp: Path) -> None:
    recipe(in_tmp / "probe.json", set_ctx("seen", "{{ cfg }}"))
    ctx = Context(artifacts={"data": {"ok": True, "off": False, "none": None, "items": [{"a": 1}]}})
    await run({"steps": [call("probe.json", cfg="{{ data | json }}")]}, ctx)
    assert ctx["seen"] == {"ok": True, "off": False, "none": None, "items": [{"a": 1}]}


async def test_execute_recipe_json_array_and_plain_strings(in_tmp: Path) -> None:
    recipe(in_tmp / "probe.json", set_ctx("arr_seen", "{{ arr }}"), set_ctx("text_seen", "{{ text }}"))
    ctx = await run({"steps": [call("probe.json", arr="[true, null]", text="{not json")]})
    assert ctx["arr_seen"] == [True, None]
    assert ctx["text_seen"] == "{not json"


async def test_execute_recipe_passes_structured_values_through_without_reparsing(in_tmp: Path) -> None:
    recipe(in_tmp / "probe.json", set_ctx("seen", "{{ item }}"))
    ctx = Context(artifacts={"resource": {"content": '{"looks": "like json"}'}})
    await run({"steps": [call("probe.json", item="{{ resource }}")]}, ctx)
    assert ctx["seen"] == {"content": '{"looks": "like json"}'}


async def test_execute_recipe_overrides_are_restored_or_removed_afterwards(in_tmp: Path) -> None:
    recipe(in_tmp / "sub.json", set_ctx("inside", "{{ shared }}/{{ fresh }}"), set_ctx("output", "kept"))
    ctx = Context(artifacts={"shared": "mine"})
    await run({"steps": [call("sub.json", shared="override", fresh="new")]}, ctx)
    assert ctx["inside"] == "override/new"
    assert ctx["shared"] == "mine"
    assert "fresh" not in ctx
    assert ctx["output"] == "kept"


async def test_execute_recipe_overrides_are_restored_after_a_failure(in_tmp: Path) -> None:
    recipe(in_tmp / "sub.json", READ_MISSING)
    ctx = Context(artifacts={"shared": "mine"})
    with pytest.raises(StepError):
        await run({"steps": [call("sub.json", shared="override")]}, ctx)
    assert ctx["shared"] == "mine"


async def test_execute_recipe_override_value_is_a_private_copy(in_tmp: Path) -> None:
    append = {"type": "set_context", "config": {"key": "items", "value": ["added"], "if_exists": "merge"}}
    recipe(in_tmp / "sub.json", append)
    ctx = Context(artifacts={"orig": ["a"]})
    await run({"steps": [call("sub.json", items="{{ orig }}")]}, ctx)
    assert ctx["orig"] == ["a"]


async def test_execute_recipe_recursion_works_until_a_condition_stops_it(in_tmp: Path) -> None:
    # countdown.json calls itself with n - 1 until n reaches 0, appending to a trail.
    step_if = {
        "type": "conditional",
        "config": {"condition": "{{ n }} > 0", "if_true": {"steps": [
            {"type": "set_context", "config": {"key": "trail", "value": "{{ n }} ", "if_exists": "merge"}},
            call("countdown.json", n="{{ n | minus: 1 }}"),
        ]}},
    }
    recipe(in_tmp / "countdown.json", step_if)
    ctx = await run({"steps": [call("countdown.json", n="5")]}, Context(artifacts={"trail": ""}))
    assert ctx["trail"] == "5 4 3 2 1 "


async def test_execute_recipe_endless_recursion_fails_with_a_clear_limit_error(in_tmp: Path) -> None:
    loop = recipe(in_tmp / "loop.json", call("loop.json"))
    with pytest.raises(RecursionLimitError, match="nested more than 5 levels deep"):
        await run(loop, max_depth=5)


async def test_execute_recipe_default_depth_limit_is_reached_without_python_recursion_error(in_tmp: Path) -> None:
    loop = recipe(in_tmp / "loop.json", call("loop.json"))
    with pytest.raises(RecursionLimitError, match="more than 64 levels"):
        await run(loop)


async def test_execute_recipe_mutual_recursion_is_bounded_too(in_tmp: Path) -> None:
    recipe(in_tmp / "a.json", call("b.json"))
    recipe(in_tmp / "b.json", call("a.json"))
    with pytest.raises(RecursionLimitError):
        await run(in_tmp / "a.json", max_depth=4)


async def test_execute_recipe_dynamic_sub_recipe_is_validated_before_it_runs(in_tmp: Path) -> None:
    recipe(in_tmp / "bad.json", set_ctx("ran", "yes"), {"type": "no_such_step", "config": {}})
    ctx = Context(artifacts={"which": "bad"})
    with pytest.raises(RecipeValidationError, match="unknown step type 'no_such_step'"):
        await run({"steps": [call("{{ which }}.json")]}, ctx)
    assert "ran" not in ctx


async def test_execute_recipe_empty_rendered_path_is_an_error() -> None:
    with pytest.raises(StepError, match="rendered to an empty string"):
        await run({"steps": [call("{{ missing }}")]})
