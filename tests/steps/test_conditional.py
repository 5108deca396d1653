"""conditional: boolean and template conditions, branches, and up-front validation of branches."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, StepError
from recipe_executor.executor import Executor

# Explicit: the conftest's implicit anyio marking loses @pytest.mark.parametrize on async tests.
pytestmark = pytest.mark.anyio


def _set(key: str, value: Any) -> dict[str, Any]:
    return {"type": "set_context", "config": {"key": key, "value": value}}


def _conditional(condition: Any, **branches: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"condition": condition}
    for name, steps in branches.items():
        config[name] = {"steps": steps}
    return {"type": "conditional", "config": config}


async def _run(steps: list[dict[str, Any]], artifacts: dict[str, Any] | None = None) -> Context:
    context = Context(artifacts or {})
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


def _branch_taken(context: Context) -> str | None:
    return context.get("branch")


@pytest.mark.parametrize(
    ("condition", "artifacts", "expected"),
    [
        (True, {}, "yes"),
        (False, {}, "no"),
        (1, {}, "yes"),
        (0, {}, "no"),
        ("true", {}, "yes"),
        ("FALSE", {}, "no"),
        ("{{ flag }}", {"flag": True}, "yes"),
        ("{{ flag }}", {"flag": False}, "no"),
        ("{{ flag }}", {"flag": "true"}, "yes"),
        ("{{ flag }}", {"flag": "False"}, "no"),
        ("{{ flag }}", {}, "no"),  # undefined is false (upstream: syntax error)
        ("{{ flag }}", {"flag": ""}, "no"),
        ("{{ items }}", {"items": [1]}, "yes"),
        ("{{ items }}", {"items": []}, "no"),
        ("{{ obj }}", {"obj": {"a": 1}}, "yes"),
        ("{{ n }}", {"n": 0}, "no"),
        ("{{ count }} > 0", {"count": 3}, "yes"),
        ("{{ count }} > 0", {}, "no"),
        ("{{ mode }} == 'fast'", {"mode": "fast"}, "yes"),  # upstream: NameError
        ("'{{ mode }}' == 'fast'", {"mode": "slow"}, "no"),
        ("{{ v }} != null", {}, "no"),
        ("not({{ skip }})", {"skip": False}, "yes"),
        ("and({{ a }}, {{ b }})", {"a": True, "b": False}, "no"),
        ("{% if x %}true{% else %}false{% endif %}", {"x": "set"}, "yes"),
        ("{% if x %}true{% else %}false{% endif %}", {}, "no"),
    ],
)
async def test_conditional_runs_the_branch_the_condition_picks(
    condition: Any, artifacts: dict[str, Any], expected: str
) -> None:
    context = await _run(
        [_conditional(condition, if_true=[_set("branch", "yes")], if_false=[_set("branch", "no")])], artifacts
    )
    assert _branch_taken(context) == expected


async def test_conditional_branch_writes_the_same_context_in_order() -> None:
    context = await _run(
        [_conditional(True, if_true=[_set("a", "1"), _set("b", "{{ a }}2")]), _set("after", "{{ b }}")]
    )
    assert context["after"] == "12"


async def test_conditional_without_the_taken_branch_does_nothing() -> None:
    context = await _run([_conditional(False, if_true=[_set("x", 1)])], {"k": "v"})
    assert context.dict() == {"k": "v"}


async def test_conditional_file_exists_uses_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a,b")
    steps = [
        _conditional("file_exists('{{ name }}')", if_true=[_set("branch", "yes")], if_false=[_set("branch", "no")])
    ]
    assert _branch_taken(await _run(steps, {"name": "data.csv"})) == "yes"
    assert _branch_taken(await _run(steps, {"name": "missing.csv"})) == "no"


async def test_conditional_unparsable_rendered_condition_shows_the_text_and_step_path() -> None:
    with pytest.raises(StepError) as info:
        await _run([_set("x", 1), _conditional("{{ a }} + {{ b }}", if_true=[])], {"a": 1, "b": 2})
    message = str(info.value)
    assert "steps[1] conditional" in message
    assert "'1 + 2'" in message
    assert "rendered from '{{ a }} + {{ b }}'" in message


async def test_conditional_unsafe_condition_from_context_is_an_error() -> None:
    payload = "x.__class__.__bases__"
    with pytest.raises(StepError, match="attribute access is not supported"):
        await _run([_conditional("{{ answer }} == 'yes'", if_true=[])], {"answer": payload})


async def test_conditional_static_unparsable_condition_fails_validation_before_anything_runs(tmp_path: Path) -> None:
    steps = [
        {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "a.txt", "content": "x"}]}},
        _conditional("eval('1')", if_true=[]),
    ]
    with pytest.raises(RecipeValidationError) as info:
        await _run(steps)
    assert "steps[1] conditional" in str(info.value)
    assert "unknown function 'eval'" in str(info.value)
    assert not (tmp_path / "a.txt").exists()


@pytest.mark.parametrize(
    ("bad_step", "fragment"),
    [
        ("junk", "a step must be an object"),
        ({"config": {"key": "x", "value": 1}}, "a step needs a non-empty string 'type'"),
        ({"type": "set_contxt", "config": {"key": "x"}}, "unknown step type 'set_contxt'; did you mean 'set_context'?"),
        ({"type": "set_context", "config": {"value": 1}}, "missing required field 'key'"),
    ],
)
async def test_conditional_malformed_branch_step_fails_validation_with_its_path(
    bad_step: Any, fragment: str, tmp_path: Path
) -> None:
    steps = [
        {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "a.txt", "content": "x"}]}},
        _conditional(False, if_true=[_set("ok", 1)], if_false=[_set("ok", 1), bad_step]),
    ]
    with pytest.raises(RecipeValidationError) as info:
        await _run(steps)
    message = str(info.value)
    assert "steps[1] conditional › if_false.steps[1]" in message
    assert fragment in message
    assert not (tmp_path / "a.txt").exists()


async def test_conditional_branch_step_failure_carries_the_branch_path() -> None:
    failing = {"type": "read_files", "config": {"path": "/nonexistent/x.md", "content_key": "c"}}
    steps = [_conditional(True, if_true=[failing])]
    with pytest.raises(StepError) as info:
        await _run(steps)
    assert "steps[0] conditional › if_true.steps[0] read_files" in str(info.value)


async def test_conditional_branch_must_be_an_object_with_steps() -> None:
    with pytest.raises(RecipeValidationError, match="if_true"):
        await _run([{"type": "conditional", "config": {"condition": True, "if_true": [_set("x", 1)]}}])


async def test_conditional_branch_without_a_steps_list_is_an_error_not_an_empty_branch() -> None:
    branch = {"stepz": [_set("x", 1)]}
    with pytest.raises(RecipeValidationError, match=r"if_true.*'stepz'.*\"steps\""):
        await _run([{"type": "conditional", "config": {"condition": True, "if_true": branch}}])


async def test_conditional_empty_branch_object_runs_nothing() -> None:
    context = await _run([{"type": "conditional", "config": {"condition": True, "if_true": {}}}])
    assert context.dict() == {}
