"""set_context: any JSON value, rendered strings and keys, merge, bounded nested rendering."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, StepError
from recipe_executor.executor import Executor
from recipe_executor.steps.set_context import MAX_NESTED_PASSES, merge_values

pytestmark = pytest.mark.anyio  # declared here so parametrized async tests are collected right


async def run(steps: list[dict[str, Any]], **artifacts: Any) -> Context:
    context = Context(artifacts=artifacts)
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


def step(**config: Any) -> dict[str, Any]:
    return {"type": "set_context", "config": config}


@pytest.mark.parametrize("value", [True, False, 0, 42, 3.5, None, [1, "a"], {"k": {"n": None}}])
async def test_set_context_stores_any_json_value_as_is(value: Any) -> None:
    context = await run([step(key="v", value=value)])
    assert context["v"] == value
    assert type(context["v"]) is type(value)


async def test_set_context_renders_strings_inside_lists_and_dicts() -> None:
    value = {"greeting": "hi {{ name }}", "items": ["{{ name | upcase }}", 1]}
    context = await run([step(key="v", value=value)], name="ann")
    assert context["v"] == {"greeting": "hi ann", "items": ["ANN", 1]}


async def test_set_context_renders_the_key_and_dict_keys() -> None:
    context = await run([step(key="out_{{ name }}", value={"{{ name }}_len": "x"})], name="ann")
    assert context["out_ann"] == {"ann_len": "x"}


async def test_set_context_key_that_renders_empty_is_an_error() -> None:
    with pytest.raises(StepError, match="key '\\{\\{ missing \\}\\}' rendered to an empty string"):
        await run([step(key="{{ missing }}", value="x")])


async def test_set_context_single_expression_keeps_the_structured_value() -> None:
    context = await run([step(key="words", value="{{ text | split: ' ' }}")], text="a b c")
    assert context["words"] == ["a", "b", "c"]


async def test_set_context_structured_value_is_a_private_copy() -> None:
    context = await run([step(key="b", value="{{ a }}")], a={"list": [1]})
    context["b"]["list"].append(2)
    assert context["a"] == {"list": [1]}


async def test_set_context_undefined_single_expression_stores_empty_string() -> None:
    context = await run([step(key="v", value="{{ nothing }}")])
    assert context["v"] == ""


async def test_set_context_value_is_required() -> None:
    with pytest.raises(RecipeValidationError, match="missing required field 'value'"):
        await run([step(key="v")])


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ("ab", "cd", "abcd"),
        ([1], [2, 3], [1, 2, 3]),
        ([1], "x", [1, "x"]),
        ({"a": 1, "b": 1}, {"b": 2}, {"a": 1, "b": 2}),
        (5, "x", [5, "x"]),
        (None, {"a": 1}, [None, {"a": 1}]),
    ],
)
async def test_set_context_merge_follows_upstream_rules(old: Any, new: Any, merged: Any) -> None:
    assert merge_values(old, new) == merged
    context = await run([step(key="v", value=new, if_exists="merge")], v=old)
    assert context["v"] == merged


async def test_set_context_merge_on_a_missing_key_just_stores() -> None:
    context = await run([step(key="v", value=["x"], if_exists="merge")])
    assert context["v"] == ["x"]


async def test_set_context_overwrite_replaces_the_value() -> None:
    context = await run([step(key="v", value="new")], v=["old"])
    assert context["v"] == "new"


async def test_set_context_nested_render_expands_templates_inside_values() -> None:
    context = await run(
        [step(key="prompt", value="{{ template }}", nested_render=True)], template="Hello {{ name }}", name="Bo"
    )
    assert context["prompt"] == "Hello Bo"


async def test_set_context_without_nested_render_keeps_inner_markup() -> None:
    context = await run([step(key="prompt", value="{{ template }}")], template="Hello {{ name }}", name="Bo")
    assert context["prompt"] == "Hello {{ name }}"


async def test_set_context_nested_render_cycle_terminates() -> None:
    context = await run([step(key="v", value="{{ a }}", nested_render=True)], a="{{ b }}", b="{{ a }}")
    assert context["v"] in ("{{ a }}", "{{ b }}")


async def test_set_context_nested_render_growing_cycle_stops_after_the_bound() -> None:
    # Each pass adds one "x": the text never stops changing, so only the bound ends it.
    context = await run([step(key="v", value="{{ a }}", nested_render=True)], a="x{{ a }}")
    assert context["v"] == "x" * (MAX_NESTED_PASSES + 1) + "{{ a }}"


async def test_set_context_nested_render_accepts_a_template_flag() -> None:
    context = await run([step(key="v", value="{{ t }}", nested_render="{{ deep }}")], t="{{ n }}", n="1", deep="true")
    assert context["v"] == "1"


async def test_set_context_invalid_if_exists_is_reported_before_running() -> None:
    with pytest.raises(RecipeValidationError, match="if_exists"):
        await run([step(key="v", value="x", if_exists="append")])


async def test_set_context_keeps_whitespace_around_a_single_expression() -> None:
    context = await run([step(key="doc", value="\n\n{{ body }}", if_exists="merge")], doc="# Title", body="text")
    assert context["doc"] == "# Title\n\ntext"


async def test_set_context_merge_onto_text_appends_rendered_text() -> None:
    context = await run([step(key="trail", value="{{ n }}", if_exists="merge")], trail="count:", n=5)
    assert context["trail"] == "count:5"
