"""loop: items, per-item clones, input-ordered results, errors, fail-fast and bounded concurrency."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, StepError, StepTimeoutError
from recipe_executor.executor import Executor
from recipe_executor.protocols import ContextProtocol
from recipe_executor.steps.base import BaseStep, StepConfig

# Explicit: the conftest's implicit anyio marking loses @pytest.mark.parametrize on async tests.
pytestmark = pytest.mark.anyio

Behaviour = Callable[[ContextProtocol], Awaitable[None]]
_BEHAVIOUR: list[Behaviour] = []


class ProbeConfig(StepConfig):
    pass


class ProbeStep(BaseStep[ProbeConfig]):
    """Runs the behaviour the current test installed."""

    async def execute(self, context: ContextProtocol) -> None:
        await _BEHAVIOUR[-1](context)


@pytest.fixture
def probe(registry: dict[str, type]) -> Callable[[Behaviour], None]:
    registry["probe"] = ProbeStep

    def install(behaviour: Behaviour) -> None:
        _BEHAVIOUR.append(behaviour)

    yield install  # type: ignore[misc]
    _BEHAVIOUR.clear()


def _loop(items: Any, substeps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    config = {"items": items, "item_key": "item", "result_key": "results", "substeps": substeps, **extra}
    return {"type": "loop", "config": config}


def _set(key: str, value: Any) -> dict[str, Any]:
    return {"type": "set_context", "config": {"key": key, "value": value}}


PROBE = {"type": "probe", "config": {}}


async def _run(steps: list[dict[str, Any]], artifacts: dict[str, Any] | None = None) -> Context:
    context = Context(artifacts or {})
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


async def test_loop_result_is_the_item_key_value_after_the_substeps() -> None:
    context = await _run([_loop("xs", [_set("item", "{{ item }}!"), _set("other", "dropped")])], {"xs": ["a", "b"]})
    assert context["results"] == ["a!", "b!"]
    assert "other" not in context
    assert context["results__errors"] == []
    assert context["results__history"] == [
        {"key": 0, "result": "a!", "error": None},
        {"key": 1, "result": "b!", "error": None},
    ]


async def test_loop_sets_index_for_lists_and_key_for_objects() -> None:
    context = await _run([_loop("xs", [_set("item", "{{ __index }}:{{ item }}")])], {"xs": ["a", "b"]})
    assert context["results"] == ["0:a", "1:b"]
    context = await _run([_loop("m", [_set("item", "{{ __key }}={{ item }}")])], {"m": {"x": 1, "y": 2}})
    assert context["results"] == {"x": "x=1", "y": "y=2"}
    assert [h["key"] for h in context["results__history"]] == ["x", "y"]


async def test_loop_result_key_with_dots_is_one_literal_key() -> None:
    context = await _run(
        [{"type": "loop", "config": {"items": "xs", "item_key": "x", "result_key": "section.content", "substeps": []}}],
        {"xs": [1]},
    )
    assert context["section.content"] == [1]
    assert "section" not in context


@pytest.mark.parametrize(
    ("items", "artifacts", "expected"),
    [
        ("outline.resources", {"outline": {"resources": [{"p": 1}, {"p": 2}]}}, [{"p": 1}, {"p": 2}]),
        ("{{ name }}", {"name": "xs", "xs": [1, 2]}, [1, 2]),  # a template computing the key
        ("{{ xs }}", {"xs": [3, 4]}, [3, 4]),  # upstream failed here
        ("data.0.xs", {"data": [{"xs": [5]}]}, [5]),
        ("xs", {"xs": "[1, 2]"}, [1, 2]),  # JSON text, e.g. from --context
        ("{{ xs }}", {"xs": '["a", "b"]'}, ["a", "b"]),  # the same JSON text through a template
        ("{{ obj }}", {"obj": '{"k": 1}'}, {"k": 1}),
        ('[1, "two"]', {}, [1, "two"]),  # JSON text written in the recipe
        (["{{ a }}", "lit"], {"a": "A"}, ["A", "lit"]),  # literal list items are rendered
        ({"k": "{{ a }}"}, {"a": "A"}, {"k": "A"}),
        ([], {}, []),
        ("empty", {"empty": {}}, {}),
    ],
)
async def test_loop_items_may_be_a_path_a_template_or_a_literal(
    items: Any, artifacts: dict[str, Any], expected: Any
) -> None:
    context = await _run([_loop(items, [])], artifacts)
    assert context["results"] == expected


async def test_loop_items_are_copied_so_substeps_cannot_change_the_parent() -> None:
    artifacts = {"xs": [{"n": 1}]}
    context = await _run(
        [_loop("xs", [{"type": "set_context", "config": {"key": "item", "value": {"m": 2}, "if_exists": "merge"}}])],
        artifacts,
    )
    assert context["results"] == [{"n": 1, "m": 2}]
    assert context["xs"] == [{"n": 1}]


@pytest.mark.parametrize(
    ("items", "artifacts", "fragment"),
    [
        ("missing", {}, "loop items 'missing' is not in the context"),
        ("a.b", {"a": {"c": 1}}, "loop items 'a.b' is not in the context"),
        ("n", {"n": 5}, "loop items 'n' is int 5, not a list or an object"),
        ("s", {"s": "text"}, "loop items 's' is str 'text', not a list or an object"),
        ("n", {"n": None}, "loop items 'n' is None"),
        ("{{ nothing }}", {}, "rendered empty"),
    ],
)
async def test_loop_over_a_missing_or_non_collection_items_fails_with_the_step_path(
    items: str, artifacts: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(StepError) as info:
        await _run([_set("before", 1), _loop(items, [_set("item", 1)])], artifacts)
    assert "steps[1] loop:" in str(info.value)
    assert fragment in str(info.value)


async def test_loop_unknown_step_type_inside_fails_validation_before_anything_runs() -> None:
    with pytest.raises(RecipeValidationError) as info:
        await _run([_loop("xs", [{"type": "shel", "config": {}}])], {"xs": [1]})
    assert "steps[0] loop › substeps[0] shel: unknown step type 'shel'" in str(info.value)


async def test_loop_fail_fast_fails_naming_the_item_and_writes_nothing() -> None:
    failing = {"type": "read_files", "config": {"path": "/nonexistent/{{ item }}.md", "content_key": "c"}}
    with pytest.raises(StepError) as info:
        await _run([_loop("xs", [_set("seen", 1), failing])], {"xs": ["a", "b"]})
    message = str(info.value)
    assert "steps[0] loop › items[0] › substeps[1] read_files" in message
    assert "/nonexistent/a.md" in message


async def test_loop_failure_in_object_items_names_the_key() -> None:
    failing = {"type": "read_files", "config": {"path": "/nonexistent/{{ __key }}.md", "content_key": "c"}}
    with pytest.raises(StepError, match=r"loop › items\['beta'\] › substeps\[0\] read_files"):
        await _run([_loop("m", [failing])], {"m": {"beta": 1}})


async def test_loop_fail_fast_cancels_running_items(probe: Callable[[Behaviour], None]) -> None:
    started = 0
    all_started = anyio.Event()
    cancelled: list[int] = []
    finished: list[int] = []

    async def behaviour(context: ContextProtocol) -> None:
        nonlocal started
        index = context["__index"]
        started += 1
        if started == 3:
            all_started.set()
        if index == 1:
            await all_started.wait()
            raise ValueError("item one broke")
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(index)
            raise
        finished.append(index)

    probe(behaviour)
    context = Context({"xs": [0, 1, 2]})
    with pytest.raises(StepError) as info:
        await Executor(logging.getLogger("t")).execute({"steps": [_loop("xs", [PROBE], max_concurrency=0)]}, context)
    assert "steps[0] loop › items[1] › substeps[0] probe: item one broke" in str(info.value)
    assert sorted(cancelled) == [0, 2]
    assert finished == []
    assert "results" not in context and "results__errors" not in context


async def test_loop_without_fail_fast_runs_everything_and_records_errors(probe: Callable[[Behaviour], None]) -> None:
    async def behaviour(context: ContextProtocol) -> None:
        if context["item"] == "bad":
            raise ValueError("bad item")
        context["item"] = context["item"].upper()

    probe(behaviour)
    context = await _run([_loop("xs", [PROBE], fail_fast=False, max_concurrency=2)], {"xs": ["a", "bad", "c"]})
    assert context["results"] == ["A", "C"]  # failed items are left out, as upstream
    errors = context["results__errors"]
    assert [e["key"] for e in errors] == [1]
    assert "bad item" in errors[0]["error"]
    assert [(h["key"], h["result"]) for h in context["results__history"]] == [(0, "A"), (1, None), (2, "C")]


async def test_loop_results_keep_input_order_when_items_finish_out_of_order(
    probe: Callable[[Behaviour], None],
) -> None:
    release = [anyio.Event() for _ in range(3)]
    arrived = 0
    completion: list[int] = []

    async def behaviour(context: ContextProtocol) -> None:
        nonlocal arrived
        index = context["__index"]
        arrived += 1
        if arrived == 3:
            release[2].set()
        await release[index].wait()
        context["item"] = f"done{index}"
        completion.append(index)
        if index > 0:
            release[index - 1].set()

    probe(behaviour)
    context = await _run([_loop("xs", [PROBE], max_concurrency=0)], {"xs": ["a", "b", "c"]})
    assert completion == [2, 1, 0]
    assert context["results"] == ["done0", "done1", "done2"]
    assert [h["key"] for h in context["results__history"]] == [0, 1, 2]


@pytest.mark.parametrize("limit", [1, 2, 4])
async def test_loop_never_runs_more_than_max_concurrency_items(probe: Callable[[Behaviour], None], limit: int) -> None:
    in_flight = 0
    peak = 0

    async def behaviour(context: ContextProtocol) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await anyio.sleep(0)
        in_flight -= 1

    probe(behaviour)
    context = await _run([_loop("xs", [PROBE], max_concurrency=limit)], {"xs": list(range(20))})
    assert peak == limit
    assert len(context["results"]) == 20


async def test_loop_clones_the_context_only_when_an_item_starts(probe: Callable[[Behaviour], None]) -> None:
    clones = 0
    seen_at_first_item: list[int] = []

    class CountingContext(Context):
        __slots__ = ()

        def clone(self) -> Context:
            nonlocal clones
            clones += 1
            return super().clone()

    async def behaviour(context: ContextProtocol) -> None:
        if not seen_at_first_item:
            seen_at_first_item.append(clones)
        await anyio.sleep(0)

    probe(behaviour)
    context = CountingContext({"xs": list(range(5000))})
    await Executor(logging.getLogger("t")).execute({"steps": [_loop("xs", [PROBE], max_concurrency=3)]}, context)
    assert seen_at_first_item[0] <= 3
    assert clones == 5000


async def test_loop_templated_numbers_are_rendered(probe: Callable[[Behaviour], None]) -> None:
    in_flight = 0
    peak = 0

    async def behaviour(context: ContextProtocol) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await anyio.sleep(0)
        in_flight -= 1

    probe(behaviour)
    steps = [_loop("xs", [PROBE], max_concurrency="{{ n }}", fail_fast="{{ ff }}")]
    await _run(steps, {"xs": list(range(6)), "n": 2, "ff": "false"})
    assert peak == 2


async def test_loop_timeout_fails_the_step(probe: Callable[[Behaviour], None]) -> None:
    async def behaviour(context: ContextProtocol) -> None:
        await anyio.sleep_forever()

    probe(behaviour)
    with pytest.raises(StepTimeoutError, match=r"timed out after 0\.05 seconds with 0 of 2 items finished"):
        await _run([_loop("xs", [PROBE], timeout=0.05, max_concurrency=0)], {"xs": [1, 2]})


async def test_loop_negative_max_concurrency_is_a_config_error() -> None:
    with pytest.raises(RecipeValidationError, match="max_concurrency"):
        await _run([_loop("xs", [], max_concurrency=-1)], {"xs": [1]})
