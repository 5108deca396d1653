"""Acceptance tests for issue 3 (control flow and document steps, the compatibility corpus),
written black-box from the issue's words: the public API, step classes built as
``StepClass(logger, config)``, and the ``recipe-executor`` CLI, with real files in tmp_path."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest

from recipe_executor import BaseStep, Context, Executor, RecipeExecutorError, StepConfig
from recipe_executor.main import main
from recipe_executor.steps.conditional import ConditionalStep
from recipe_executor.steps.docpack_create import DocpackCreateStep
from recipe_executor.steps.docpack_extract import DocpackExtractStep
from recipe_executor.steps.loop import LoopStep
from recipe_executor.steps.read_files import ReadFilesStep
from recipe_executor.steps.set_context import SetContextStep
from recipe_executor.steps.write_files import WriteFilesStep

pytestmark = pytest.mark.anyio

LOG = logging.getLogger("acceptance.issue3")
CLI = [sys.executable, "-m", "recipe_executor.main"]


async def run(recipe: Any, **artifacts: Any) -> Context:
    context = Context(artifacts=artifacts)
    await Executor(LOG).execute(recipe, context)
    return context


async def run_error(recipe: Any, **artifacts: Any) -> tuple[RecipeExecutorError, Context]:
    context = Context(artifacts=artifacts)
    with pytest.raises(RecipeExecutorError) as info:
        await Executor(LOG).execute(recipe, context)
    return info.value, context


def cli(args: list[str], cwd: Path, *extra_env: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(dict(extra_env))
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env, check=False)


# --- custom steps used to observe concurrency -------------------------------------------------


class GateConfig(StepConfig):
    pass


class Gate:
    """Shared state of the probe steps of one test."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started: list[Any] = []
        self.finished: list[Any] = []
        self.cancelled: list[Any] = []
        self.events: dict[int, anyio.Event] = {}
        self.max_tasks = 0


GATE = Gate()


class ReverseStep(BaseStep[GateConfig]):
    """Item i finishes only after item i+1 has finished: completion order is the reverse."""

    async def execute(self, context: Any) -> None:
        index = context["__index"]
        total = context["total"]
        GATE.in_flight += 1
        GATE.peak = max(GATE.peak, GATE.in_flight)
        try:
            if index + 1 < total:
                await GATE.events.setdefault(index + 1, anyio.Event()).wait()
            context["item"] = f"done-{context['item']}"
            GATE.finished.append(index)
        finally:
            GATE.in_flight -= 1
            GATE.events.setdefault(index, anyio.Event()).set()


class CountStep(BaseStep[GateConfig]):
    """Records how many items run at once; yields so that siblings can start."""

    async def execute(self, context: Any) -> None:
        GATE.in_flight += 1
        GATE.peak = max(GATE.peak, GATE.in_flight)
        GATE.max_tasks = max(GATE.max_tasks, len(asyncio.all_tasks()))
        try:
            for _ in range(3):
                await anyio.sleep(0)
        finally:
            GATE.in_flight -= 1


class FailOrHangStep(BaseStep[GateConfig]):
    """Item 'bad' fails once every other item has started; the others wait forever."""

    async def execute(self, context: Any) -> None:
        item = context["item"]
        GATE.started.append(item)
        if item == "bad":
            while len(GATE.started) < context["total"]:
                await anyio.sleep(0)
            raise ValueError(f"item {item} is broken")
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            GATE.cancelled.append(item)
            raise


class FailIfStep(BaseStep[GateConfig]):
    """Fails for items equal to 'bad', else upper-cases the item."""

    async def execute(self, context: Any) -> None:
        if context["item"] == "bad":
            raise ValueError("bad item")
        context["item"] = str(context["item"]).upper()


@pytest.fixture(autouse=True)
def probes(registry: dict[str, type]) -> None:
    global GATE
    GATE = Gate()
    registry["reverse"] = ReverseStep
    registry["count"] = CountStep
    registry["fail_or_hang"] = FailOrHangStep
    registry["fail_if"] = FailIfStep


# === loop ======================================================================================


async def test_loop_over_dot_path_sets_item_and_index_and_collects_item_key_values() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "config": {
                        "items": "data.names",
                        "item_key": "name",
                        "substeps": [
                            {"type": "set_context", "config": {"key": "name", "value": "{{ __index }}:{{ name }}"}}
                        ],
                        "result_key": "labels",
                    },
                }
            ]
        },
        data={"names": ["ann", "bob", "cy"]},
    )
    assert ctx["labels"] == ["0:ann", "1:bob", "2:cy"]
    assert ctx["labels__errors"] == []
    assert [h["key"] for h in ctx["labels__history"]] == [0, 1, 2]
    assert "name" not in ctx and "__index" not in ctx  # item writes stay in the clones


async def test_loop_over_object_sets_key_and_returns_object() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "prices",
                    "item_key": "p",
                    "substeps": [{"type": "set_context", "key": "p", "value": "{{ __key }}={{ p }}"}],
                    "result_key": "out",
                }
            ]
        },
        prices={"apple": 1, "pear": 2},
    )
    assert ctx["out"] == {"apple": "apple=1", "pear": "pear=2"}
    assert [h["key"] for h in ctx["out__history"]] == ["apple", "pear"]


@pytest.mark.parametrize(
    "items",
    ["{{ xs }}", "xs", ["{{ xs[0] }}", "b", "c"]],
    ids=["template", "dot-path", "literal-list-rendered"],
)
async def test_loop_items_accepts_template_path_and_literal_list(items: Any) -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": items,
                    "item_key": "item",
                    "substeps": [{"type": "fail_if"}],
                    "result_key": "r",
                }
            ]
        },
        xs=["a", "b", "c"],
    )
    assert ctx["r"] == ["A", "B", "C"]


async def test_loop_literal_object_items() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": {"x": "{{ v }}", "y": "b"},
                    "item_key": "item",
                    "substeps": [{"type": "fail_if", "config": {}}],
                    "result_key": "r",
                }
            ]
        },
        v="a",
    )
    assert ctx["r"] == {"x": "A", "y": "B"}


async def test_loop_item_key_and_result_key_are_rendered() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "xs",
                    "item_key": "{{ ik }}",
                    "substeps": [{"type": "set_context", "key": "{{ ik }}", "value": "<{{ it }}>"}],
                    "result_key": "{{ rk }}",
                }
            ]
        },
        xs=[1, 2],
        ik="it",
        rk="wrapped",
    )
    assert ctx["wrapped"] == ["<1>", "<2>"]


async def test_loop_results_keep_input_order_when_items_finish_in_reverse() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "xs",
                    "item_key": "item",
                    "max_concurrency": 0,
                    "substeps": [{"type": "reverse"}],
                    "result_key": "r",
                }
            ]
        },
        xs=["a", "b", "c", "d"],
        total=4,
    )
    assert GATE.finished == [3, 2, 1, 0]  # completion order really was reversed
    assert GATE.peak == 4
    assert ctx["r"] == ["done-a", "done-b", "done-c", "done-d"]
    assert [h["key"] for h in ctx["r__history"]] == [0, 1, 2, 3]


@pytest.mark.parametrize(("max_concurrency", "peak"), [(None, 1), (1, 1), (2, 2), (0, 10)])
async def test_loop_max_concurrency_bounds_items_in_flight(max_concurrency: int | None, peak: int) -> None:
    config: dict[str, Any] = {"items": "xs", "item_key": "item", "substeps": [{"type": "count"}], "result_key": "r"}
    if max_concurrency is not None:
        config["max_concurrency"] = max_concurrency
    await run({"steps": [{"type": "loop", "config": config}]}, xs=list(range(10)))
    assert GATE.peak == peak


async def test_loop_fail_fast_default_cancels_running_items_and_fails_naming_the_item() -> None:
    error, ctx = await run_error(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "xs",
                    "item_key": "item",
                    "max_concurrency": 0,
                    "substeps": [{"type": "fail_or_hang"}],
                    "result_key": "r",
                },
                {"type": "set_context", "key": "after", "value": "ran"},
            ]
        },
        xs=["ok1", "bad", "ok2"],
        total=3,
    )
    message = str(error)
    assert "steps[0] loop" in message
    assert "items[1]" in message
    assert "item bad is broken" in message
    assert sorted(GATE.cancelled) == ["ok1", "ok2"]
    assert "r" not in ctx and "after" not in ctx


async def test_loop_fail_fast_sequential_stops_at_first_failure() -> None:
    error, ctx = await run_error(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": ["a", "bad", "c"],
                    "item_key": "item",
                    "substeps": [{"type": "fail_if"}, {"type": "count"}],
                    "result_key": "r",
                }
            ]
        }
    )
    assert "items[1]" in str(error) and "bad item" in str(error)
    assert GATE.peak == 1  # only item 'a' reached the count step; 'c' never started
    assert "r" not in ctx


async def test_loop_fail_fast_false_runs_everything_and_records_errors() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "xs",
                    "item_key": "item",
                    "fail_fast": False,
                    "max_concurrency": 2,
                    "substeps": [{"type": "fail_if"}],
                    "result_key": "r",
                }
            ]
        },
        xs=["a", "bad", "c"],
    )
    assert ctx["r"] == ["A", "C"]
    errors = ctx["r__errors"]
    assert len(errors) == 1 and errors[0]["key"] == 1 and "bad item" in errors[0]["error"]
    history = ctx["r__history"]
    assert [h["key"] for h in history] == [0, 1, 2]
    assert history[1]["result"] is None and "bad item" in history[1]["error"]


async def test_loop_delay_between_items() -> None:
    started = time.perf_counter()
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": [1, 2, 3],
                    "item_key": "item",
                    "delay": 0.05,
                    "substeps": [],
                    "result_key": "r",
                }
            ]
        }
    )
    assert ctx["r"] == [1, 2, 3]
    assert time.perf_counter() - started >= 0.09  # two gaps between three items


async def test_loop_over_many_items_never_creates_a_task_per_item() -> None:
    count = 20_000
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": "xs",
                    "item_key": "item",
                    "max_concurrency": 0,
                    "substeps": [{"type": "count"}],
                    "result_key": "r",
                }
            ]
        },
        xs=list(range(count)),
    )
    assert ctx["r"] == list(range(count))
    assert GATE.max_tasks < count // 2
    assert GATE.peak < count // 2


async def test_loop_empty_collection_gives_empty_results() -> None:
    ctx = await run(
        {"steps": [{"type": "loop", "items": "xs", "item_key": "i", "substeps": [], "result_key": "r"}]}, xs=[]
    )
    assert ctx["r"] == [] and ctx["r__errors"] == [] and ctx["r__history"] == []


async def test_loop_items_from_cli_json_text(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    out = tmp_path / "out.txt"
    recipe.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "loop",
                        "items": "xs",
                        "item_key": "x",
                        "substeps": [{"type": "set_context", "key": "x", "value": "{{ x | upcase }}"}],
                        "result_key": "r",
                    },
                    {"type": "write_files", "files": [{"path": str(out), "content": "{{ r | join: ',' }}"}]},
                ]
            }
        ),
        encoding="utf-8",
    )
    result = cli([str(recipe), "--context", 'xs=["a","b"]', "--log-dir", str(tmp_path / "logs")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == "A,B"


@pytest.mark.parametrize(
    ("items", "artifacts", "phrase"),
    [("missing", {}, "'missing'"), ("n", {"n": 5}, "'n'"), ("{{ nothing }}", {}, "items")],
    ids=["missing", "not-a-collection", "renders-empty"],
)
async def test_loop_bad_items_is_a_clear_error_and_writes_nothing(
    items: str, artifacts: dict[str, Any], phrase: str
) -> None:
    error, ctx = await run_error(
        {"steps": [{"type": "loop", "items": items, "item_key": "i", "substeps": [], "result_key": "r"}]}, **artifacts
    )
    message = str(error)
    assert "steps[0] loop" in message and phrase in message
    assert "\n" not in message
    assert "r" not in ctx and "r__errors" not in ctx


@pytest.mark.parametrize("shape", ["nested", "inline"])
async def test_unknown_step_type_inside_loop_fails_before_anything_runs(shape: str, tmp_path: Path) -> None:
    bad: dict[str, Any] = (
        {"type": "shel", "config": {"command": "ls"}} if shape == "nested" else {"type": "shel", "command": "ls"}
    )
    out = tmp_path / "first.txt"
    error, ctx = await run_error(
        {
            "steps": [
                {"type": "write_files", "files": [{"path": str(out), "content": "x"}]},
                {"type": "loop", "items": [1], "item_key": "i", "substeps": [bad], "result_key": "r"},
            ]
        }
    )
    assert "steps[1] loop" in str(error) and "substeps[0]" in str(error) and "'shel'" in str(error)
    assert not out.exists()
    assert "r" not in ctx


async def test_loop_step_class_directly() -> None:
    step = LoopStep(
        LOG,
        {
            "items": "xs",
            "item_key": "x",
            "substeps": [{"type": "set_context", "config": {"key": "x", "value": "{{ x }}!"}}],
            "result_key": "out",
        },
    )
    ctx = Context(artifacts={"xs": ["a"]})
    await step.execute(ctx)
    assert ctx["out"] == ["a!"]


async def test_loop_cli_failure_prints_one_line_with_item_and_exit_1(tmp_path: Path) -> None:
    recipe = tmp_path / "r.json"
    recipe.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "loop",
                        "items": ["a.txt", "missing.txt"],
                        "item_key": "f",
                        "substeps": [{"type": "read_files", "path": "{{ f }}", "content_key": "f"}],
                        "result_key": "r",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "a.txt").write_text("A", encoding="utf-8")
    result = cli([str(recipe), "--log-dir", str(tmp_path / "logs")], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "r.json" in result.stderr and "items[1]" in result.stderr and "missing.txt" in result.stderr


# === conditional ===============================================================================


def cond(condition: Any, **artifacts: Any) -> bool:
    return ConditionalStep(LOG, {"condition": condition}).evaluate(Context(artifacts=artifacts))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("false", False),
        ("FALSE", False),
        (" False ", False),
        ("1 == 1", True),
        ("1 != 1", False),
        ("2 > 1", True),
        ("2 < 1", False),
        ("2 >= 2", True),
        ("1 <= 0", False),
        ("'a' == 'a'", True),
        ("\"a\" == 'b'", False),
        ("1.5 > 1", True),
        ("true and false", False),
        ("true or false", True),
        ("not false", True),
        ("not true", False),
        ("and(true, true)", True),
        ("and(true, false)", False),
        ("or(false, true)", True),
        ("or(false, false)", False),
        ("not(false)", True),
        ("not(true)", False),
        ("and(or(false, true), not(false))", True),
        ("'a' in ['a', 'b']", True),
        ("'z' in ['a', 'b']", False),
        ("'ell' in 'hello'", True),
        ("(1 == 1) and ('x' != 'y')", True),
    ],
)
def test_condition_language(condition: Any, expected: bool) -> None:
    assert cond(condition) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{{ flag }}", True),
        ("{{ off }}", False),
        ("{{ n }} > 3", True),
        ("{{ n }} == 5", True),
        ("'{{ mode }}' == 'fast'", True),
        ("{{ mode }} == 'fast'", True),
        ("'{{ mode }}' in ['fast', 'slow']", True),
        ("{% if n > 3 %}true{% else %}false{% endif %}", True),
        ("{% if missing %}true{% else %}false{% endif %}", False),
        ("{{ missing }}", False),
        ("{{ empty }}", False),
        ("", False),
        ("{{ missing }} == 'x'", False),
        ("and({{ flag }}, {{ n }} > 1)", True),
        ("{{ dev_guide }} != 'skip'", False),
        ("{{ mode }} != null", True),
        ("{{ missing }} != null", False),
        ("{{ empty }}", False),
    ],
)
def test_condition_rendered_from_context(condition: str, expected: bool) -> None:
    assert cond(condition, flag=True, off=False, n=5, mode="fast", empty="", dev_guide="skip") is expected


def test_condition_file_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    old = tmp_path / "docs" / "a.md"
    new = tmp_path / "docs" / "b.md"
    old.write_text("a", encoding="utf-8")
    new.write_text("b", encoding="utf-8")
    os.utime(old, (1_000_000, 1_000_000))
    assert cond("file_exists('docs/a.md')") is True
    assert cond("file_exists('docs/zzz.md')") is False
    assert cond("file_exists('{{ p }}')", p=str(old)) is True
    assert cond("all_files_exist(['docs/a.md', 'docs/b.md'])") is True
    assert cond("all_files_exist(['docs/a.md', 'docs/c.md'])") is False
    assert cond("all_files_exist('docs/*.md')") is True
    assert cond("all_files_exist(['docs/*.txt'])") is False
    assert cond("file_is_newer('docs/b.md', 'docs/a.md')") is True
    assert cond("file_is_newer('docs/a.md', 'docs/b.md')") is False
    assert cond("file_is_newer('docs/none.md', 'docs/a.md')") is False
    assert cond("not(file_exists('docs/zzz.md')) and file_exists('docs')") is True


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('touch pwned')",
        "open('pwned', 'w')",
        "x.__class__",
        "''.join(['a'])",
        "exec('1')",
        "[c for c in 'abc']",
        "lambda: 1",
        "1 +",
        "(true",
        "'unterminated",
    ],
)
def test_unsafe_or_unparsable_condition_is_refused_at_validation(
    condition: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    recipe = tmp_path / "r.json"
    recipe.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "conditional",
                        "condition": condition,
                        "if_true": {"steps": [{"type": "set_context", "key": "a", "value": "b"}]},
                    }
                ]
            }
        )
    )
    code = main(["validate", str(recipe)])
    assert code == 1
    assert not (tmp_path / "pwned").exists()
    with pytest.raises((RecipeExecutorError, ValueError)) as info:  # pydantic: a static condition is checked
        cond(condition)
    assert condition in str(info.value) or repr(condition) in str(info.value)
    # rendered from the context it is refused at run time, quoting the rendered text
    with pytest.raises(RecipeExecutorError) as info:
        cond("{{ c }}", c=condition)
    assert condition in str(info.value) or repr(condition) in str(info.value)
    assert not (tmp_path / "pwned").exists()


async def test_unparsable_rendered_condition_error_shows_rendered_text_and_step_path(tmp_path: Path) -> None:
    (tmp_path / "marker").write_text("", encoding="utf-8")
    error, ctx = await run_error(
        {
            "steps": [
                {
                    "type": "conditional",
                    "condition": "{{ expr }}",
                    "if_true": {"steps": [{"type": "set_context", "key": "ran", "value": "yes"}]},
                }
            ]
        },
        expr="__import__('os').remove('marker')",
    )
    message = str(error)
    assert "steps[0] conditional" in message
    assert "__import__('os').remove('marker')" in message
    assert (tmp_path / "marker").exists()
    assert "ran" not in ctx


@pytest.mark.parametrize("shape", ["nested", "inline"])
async def test_conditional_runs_the_right_branch_in_the_same_context(shape: str) -> None:
    def set_step(key: str, value: str) -> dict[str, Any]:
        return (
            {"type": "set_context", "config": {"key": key, "value": value}}
            if shape == "nested"
            else {"type": "set_context", "key": key, "value": value}
        )

    recipe = {
        "steps": [
            {
                "type": "conditional",
                "config": {
                    "condition": "{{ n }} > 2",
                    "if_true": {"steps": [set_step("big", "yes"), set_step("size", "{{ big }}")]},
                    "if_false": {"steps": [set_step("small", "yes")]},
                },
            },
        ]
    }
    ctx = await run(recipe, n=5)
    assert ctx["big"] == "yes" and ctx["size"] == "yes" and "small" not in ctx
    ctx = await run(recipe, n=1)
    assert ctx["small"] == "yes" and "big" not in ctx


async def test_conditional_without_the_taken_branch_does_nothing() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "conditional",
                    "condition": "false",
                    "if_true": {"steps": [{"type": "set_context", "key": "a", "value": "b"}]},
                }
            ]
        }
    )
    assert "a" not in ctx


async def test_nested_conditional_inside_loop_inside_conditional() -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "conditional",
                    "condition": "true",
                    "if_true": {
                        "steps": [
                            {
                                "type": "loop",
                                "items": "xs",
                                "item_key": "x",
                                "result_key": "r",
                                "substeps": [
                                    {
                                        "type": "conditional",
                                        "condition": "{{ x }} > 1",
                                        "if_true": {"steps": [{"type": "set_context", "key": "x", "value": "big"}]},
                                        "if_false": {"steps": [{"type": "set_context", "key": "x", "value": "small"}]},
                                    },
                                ],
                            },
                        ]
                    },
                }
            ]
        },
        xs=[1, 2, 3],
    )
    assert ctx["r"] == ["small", "big", "big"]


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        ({"type": "nope", "config": {}}, "'nope'"),
        ({"config": {"key": "a", "value": "b"}}, "type"),
        ("set_context", "object"),
        ({"type": "set_context", "config": {"value": "no key"}}, "key"),
        ({"type": "set_context", "key": "a", "value": "b", "config": {"key": "c"}}, "set_context"),
    ],
    ids=["unknown-type", "no-type", "not-an-object", "missing-field", "both-shapes"],
)
@pytest.mark.parametrize("branch", ["if_true", "if_false"])
async def test_malformed_branch_step_is_an_error_with_its_path_and_nothing_runs(
    bad: Any, phrase: str, branch: str, tmp_path: Path
) -> None:
    out = tmp_path / "first.txt"
    error, ctx = await run_error(
        {
            "steps": [
                {"type": "write_files", "files": [{"path": str(out), "content": "x"}]},
                {
                    "type": "conditional",
                    "condition": "true" if branch == "if_false" else "false",
                    branch: {"steps": [{"type": "set_context", "key": "ok", "value": "1"}, bad]},
                },
            ]
        }
    )
    message = str(error)
    assert f"steps[1] conditional › {branch}.steps[1]" in message
    assert phrase in message
    assert not out.exists() and "ok" not in ctx


def test_conditional_branch_must_be_an_object_with_steps() -> None:
    with pytest.raises(Exception) as info:  # pydantic or our validation error
        ConditionalStep(LOG, {"condition": "true", "if_true": [{"type": "set_context"}]})
    assert "if_true" in str(info.value)


def test_cli_validate_reports_malformed_branch_with_file_name(tmp_path: Path) -> None:
    recipe = tmp_path / "branchy.json"
    recipe.write_text(
        json.dumps(
            {"steps": [{"type": "conditional", "condition": "true", "if_false": {"steps": [{"type": "red_files"}]}}]}
        )
    )
    result = cli(["validate", str(recipe)], tmp_path)
    assert result.returncode == 1
    assert "branchy.json" in result.stderr and "if_false.steps[0]" in result.stderr and "red_files" in result.stderr
    assert "Traceback" not in result.stderr


# === docpack ===================================================================================


def make_sources(tmp_path: Path) -> tuple[Path, list[Path]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = tmp_path / "a" / "notes.md"
    second = tmp_path / "b" / "notes.md"
    third = tmp_path / "a" / "data.csv"
    first.write_text("notes from A", encoding="utf-8")
    second.write_text("notes from B", encoding="utf-8")
    third.write_text("x,y\n1,2\n", encoding="utf-8")
    outline = {
        "title": "Doc",
        "resources": [
            {"key": "na", "path": str(first), "description": "A"},
            {"key": "nb", "path": str(second), "description": "B"},
            {"key": "csv", "path": str(third), "description": "C"},
        ],
        "sections": [{"title": "S", "resource_key": "na"}],
    }
    outline_path = tmp_path / "outline.json"
    outline_path.write_text(json.dumps(outline), encoding="utf-8")
    return outline_path, [first, second, third]


async def test_docpack_round_trip_keeps_duplicate_names_apart_and_rewrites_paths(tmp_path: Path) -> None:
    outline_path, files = make_sources(tmp_path)
    pack = tmp_path / "out" / "doc.docpack"
    ctx = await run(
        {
            "steps": [
                {
                    "type": "docpack_create",
                    "outline_path": "{{ o }}",
                    "resource_files": "{{ files }}",
                    "output_path": "{{ pack }}",
                    "output_key": "created",
                },
                {
                    "type": "docpack_extract",
                    "docpack_path": "{{ pack }}",
                    "extract_dir": "{{ dest }}",
                    "outline_key": "outline",
                    "resources_key": "resources",
                },
            ]
        },
        o=str(outline_path),
        files=[str(f) for f in files],
        pack=str(pack),
        dest=str(tmp_path / "x"),
    )
    assert ctx["created"]["success"] is True and ctx["created"]["resource_count"] == 3
    with zipfile.ZipFile(pack) as archive:
        names = sorted(archive.namelist())
        assert "outline.json" in names
        assert len(names) == 4
        packed = json.loads(archive.read("outline.json"))
        by_key = {r["key"]: r["path"] for r in packed["resources"]}
        assert archive.read(by_key["na"]).decode() == "notes from A"
        assert archive.read(by_key["nb"]).decode() == "notes from B"
    outline = ctx["outline"]
    contents = {r["key"]: Path(r["path"]).read_text(encoding="utf-8") for r in outline["resources"]}
    assert contents == {"na": "notes from A", "nb": "notes from B", "csv": "x,y\n1,2\n"}
    for resource in outline["resources"]:
        assert Path(resource["path"]).is_absolute()
        assert Path(resource["path"]).resolve().is_relative_to((tmp_path / "x").resolve())
    assert sorted(Path(p).read_text(encoding="utf-8") for p in ctx["resources"]) == sorted(contents.values())
    on_disk = json.loads((tmp_path / "x" / "outline.json").read_text(encoding="utf-8"))
    assert [Path(r["path"]).read_text(encoding="utf-8") for r in on_disk["resources"]] == [
        "notes from A",
        "notes from B",
        "x,y\n1,2\n",
    ]


async def test_docpack_create_list_entries_and_comma_string_are_rendered(tmp_path: Path) -> None:
    outline_path, files = make_sources(tmp_path)
    for raw in (["{{ f1 }}", "{{ f3 }}"], "{{ f1 }}, {{ f3 }}"):
        pack = tmp_path / "p.docpack"
        step = DocpackCreateStep(
            LOG,
            {"outline_path": str(outline_path), "resource_files": raw, "output_path": str(pack), "output_key": "res"},
        )
        ctx = Context(artifacts={"f1": str(files[0]), "f3": str(files[2])})
        await step.execute(ctx)
        with zipfile.ZipFile(pack) as archive:
            assert "notes.md" in archive.namelist() and "data.csv" in archive.namelist()
        pack.unlink()


def write_zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)


@pytest.mark.parametrize(
    "member",
    ["../evil.txt", "files/../../evil.txt", "/tmp/evil-issue3.txt", "..\\evil.txt", "C:/evil.txt", "a/../../evil.txt"],
)
async def test_docpack_extract_refuses_zip_slip_and_writes_nothing(member: str, tmp_path: Path) -> None:
    pack = tmp_path / "bad.docpack"
    outline = {"title": "t", "resources": [{"key": "k", "path": "ok.md"}]}
    write_zip(pack, {"outline.json": json.dumps(outline), "ok.md": "fine", member: "pwned"})
    dest = tmp_path / "dest" / "inner"
    error, ctx = await run_error(
        {"steps": [{"type": "docpack_extract", "docpack_path": str(pack), "extract_dir": str(dest)}]}
    )
    assert "steps[0] docpack_extract" in str(error)
    assert member in str(error) or repr(member) in str(error)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "dest" / "evil.txt").exists()
    assert not Path("/tmp/evil-issue3.txt").exists()
    assert not dest.exists() or not any(dest.rglob("*"))
    assert "outline_data" not in ctx


async def test_docpack_extract_refuses_outline_paths_outside_the_archive(tmp_path: Path) -> None:
    pack = tmp_path / "bad.docpack"
    outline = {"title": "t", "resources": [{"key": "k", "path": "/etc/hostname"}]}
    write_zip(pack, {"outline.json": json.dumps(outline)})
    error, ctx = await run_error(
        {"steps": [{"type": "docpack_extract", "docpack_path": str(pack), "extract_dir": str(tmp_path / "d")}]}
    )
    assert "/etc/hostname" in str(error)
    assert "outline_data" not in ctx


@pytest.mark.parametrize("case", ["missing", "not-zip", "no-outline", "bad-outline-json", "folder"])
async def test_docpack_extract_unreadable_input_is_a_clear_error(case: str, tmp_path: Path) -> None:
    pack = tmp_path / "in.docpack"
    if case == "not-zip":
        pack.write_text("plain text", encoding="utf-8")
    elif case == "no-outline":
        write_zip(pack, {"a.md": "x"})
    elif case == "bad-outline-json":
        write_zip(pack, {"outline.json": "{not json"})
    elif case == "folder":
        pack.mkdir()
    step = DocpackExtractStep(LOG, {"docpack_path": str(pack), "extract_dir": str(tmp_path / "d")})
    with pytest.raises(RecipeExecutorError) as info:
        await step.execute(Context())
    message = str(info.value)
    assert "in.docpack" in message and "\n" not in message


@pytest.mark.parametrize(
    "case", ["outline-missing", "outline-not-json", "resource-missing", "resource-is-folder", "outline-binary"]
)
async def test_docpack_create_bad_input_is_a_clear_error_and_writes_no_archive(case: str, tmp_path: Path) -> None:
    outline_path, files = make_sources(tmp_path)
    resources = [str(f) for f in files]
    if case == "outline-missing":
        outline_path = tmp_path / "nope.json"
    elif case == "outline-not-json":
        outline_path.write_text("{oops", encoding="utf-8")
    elif case == "outline-binary":
        outline_path.write_bytes(b"\xff\xfe\x00\x81")
    elif case == "resource-missing":
        resources.append(str(tmp_path / "ghost.md"))
    else:
        resources.append(str(tmp_path / "a"))
    pack = tmp_path / "out" / "doc.docpack"
    error, _ = await run_error(
        {
            "steps": [
                {
                    "type": "docpack_create",
                    "outline_path": str(outline_path),
                    "resource_files": resources,
                    "output_path": str(pack),
                }
            ]
        }
    )
    message = str(error)
    assert "steps[0] docpack_create" in message and "\n" not in message
    assert not pack.exists()
    assert not (pack.parent.exists() and any(pack.parent.iterdir()))


async def test_docpack_interoperates_with_a_plain_upstream_style_archive(tmp_path: Path) -> None:
    pack = tmp_path / "up.docpack"
    outline = {"title": "t", "resources": [{"key": "a", "path": "a.md"}, {"key": "b", "path": "a_1.md"}]}
    write_zip(pack, {"outline.json": json.dumps(outline), "a.md": "first", "a_1.md": "second"})
    step = DocpackExtractStep(
        LOG, {"docpack_path": "{{ p }}", "extract_dir": "{{ d }}", "outline_key": "{{ ok }}", "resources_key": "res"}
    )
    ctx = Context(artifacts={"p": str(pack), "d": str(tmp_path / "d"), "ok": "the_outline"})
    await step.execute(ctx)
    assert [Path(r["path"]).read_text() for r in ctx["the_outline"]["resources"]] == ["first", "second"]
    assert (tmp_path / "d" / "files" / "a.md").read_text() == "first"
    assert len(ctx["res"]) == 2


# === field rendering (set_context, read_files, write_files) ====================================


async def test_set_context_key_is_rendered() -> None:
    ctx = Context(artifacts={"name": "greeting"})
    await SetContextStep(LOG, {"key": "{{ name }}", "value": "hi"}).execute(ctx)
    assert ctx["greeting"] == "hi" and "{{ name }}" not in ctx


async def test_set_context_list_items_and_dict_values_are_rendered() -> None:
    ctx = Context(artifacts={"a": "A", "b": "B"})
    await SetContextStep(
        LOG, {"key": "v", "value": {"list": ["{{ a }}", "x{{ b }}"], "nested": {"k": "{{ a }}{{ b }}"}}}
    ).execute(ctx)
    assert ctx["v"] == {"list": ["A", "xB"], "nested": {"k": "AB"}}


async def test_read_files_merge_mode_and_optional_are_rendered(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("1", encoding="utf-8")
    (tmp_path / "two.md").write_text("2", encoding="utf-8")
    ctx = Context(artifacts={"mode": "dict", "opt": "true", "root": str(tmp_path)})
    await ReadFilesStep(
        LOG,
        {
            "path": ["{{ root }}/one.md", "{{ root }}/two.md", "{{ root }}/ghost.md"],
            "content_key": "{{ mode }}_out",
            "merge_mode": "{{ mode }}",
            "optional": "{{ opt }}",
        },
    ).execute(ctx)
    assert ctx["dict_out"] == {f"{tmp_path}/one.md": "1", f"{tmp_path}/two.md": "2"}


async def test_write_files_key_names_are_rendered(tmp_path: Path) -> None:
    ctx = Context(
        artifacts={
            "which": "generated",
            "pk": "where",
            "ck": "body",
            "generated": [{"path": "g.txt", "content": "G"}],
            "where": "p.txt",
            "body": "P",
        }
    )
    await WriteFilesStep(LOG, {"files_key": "{{ which }}", "root": str(tmp_path)}).execute(ctx)
    await WriteFilesStep(
        LOG, {"files": [{"path_key": "{{ pk }}", "content_key": "{{ ck }}"}], "root": str(tmp_path)}
    ).execute(ctx)
    assert (tmp_path / "g.txt").read_text(encoding="utf-8") == "G"
    assert (tmp_path / "p.txt").read_text(encoding="utf-8") == "P"


async def test_write_files_content_is_rendered(tmp_path: Path) -> None:
    ctx = Context(artifacts={"name": "World"})
    await WriteFilesStep(
        LOG, {"files": [{"path": "h.txt", "content": "Hello {{ name }}"}], "root": str(tmp_path)}
    ).execute(ctx)
    assert (tmp_path / "h.txt").read_text(encoding="utf-8") == "Hello World"


async def test_read_files_unreadable_input_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bin.md").write_bytes(b"\xff\xfe\x00\x81\x82")
    error, ctx = await run_error(
        {"steps": [{"type": "read_files", "path": str(tmp_path / "bin.md"), "content_key": "c"}]}
    )
    assert "bin.md" in str(error) and "steps[0] read_files" in str(error) and "\n" not in str(error)
    assert "c" not in ctx


# === compatibility corpus ======================================================================


def corpus_recipes(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "recipes").rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and "steps" in data:
            found.append(str(path.relative_to(root)))
    return found


def test_every_corpus_recipe_validates_from_the_corpus_folder(
    compat_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(compat_dir)
    recipes = corpus_recipes(compat_dir)
    assert len(recipes) >= 25
    failures = {}
    for recipe in recipes:
        code = main(["validate", recipe])
        out, err = capsys.readouterr()
        if code != 0 or "valid" not in out:
            failures[recipe] = err
    assert failures == {}


def test_corpus_validate_through_the_installed_cli(compat_dir: Path) -> None:
    result = subprocess.run(
        [
            "recipe-executor" if _has_script() else sys.executable,
            *([] if _has_script() else ["-m", "recipe_executor.main"]),
            "validate",
            "recipes/document_generator/document_generator_recipe.json",
        ],
        cwd=compat_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def _has_script() -> bool:
    return (Path(sys.executable).parent / "recipe-executor").exists()


def test_corpus_extras_demo_runs_from_the_cli(compat_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        [
            "recipes/example_templates/extras_demo.json",
            "--context",
            "input_file=recipes/example_templates/data/items.json",
            f"output_root={out}",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        compat_dir,
    )
    assert result.returncode == 0, result.stderr
    items = json.loads((compat_dir / "recipes/example_templates/data/items.json").read_text(encoding="utf-8"))
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(i["name"].lower().replace(" ", "_") + ".md" for i in items)
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ") and "{{" not in text


def test_corpus_read_components_and_resources_run_from_the_cli(compat_dir: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "probe.json"
    dump = tmp_path / "dump.json"
    recipe.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "execute_recipe",
                        "recipe_path": "recipes/codebase_generator/recipes/read_components.json",
                    },
                    {"type": "set_context", "key": "component", "value": {"id": "context", "deps": [], "refs": []}},
                    {
                        "type": "execute_recipe",
                        "recipe_path": "recipes/codebase_generator/recipes/read_component_resources.json",
                    },
                    {
                        "type": "write_files",
                        "root": str(tmp_path),
                        "files": [{"path": dump.name, "content": "{{ dump }}"}],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    # the dump: collect what we check
    data = json.loads(recipe.read_text())
    data["steps"].insert(
        3,
        {
            "type": "set_context",
            "key": "dump",
            "value": {"components": "{{ components }}", "spec": "{{ spec }}", "docs": "{{ docs }}"},
        },
    )
    recipe.write_text(json.dumps(data), encoding="utf-8")
    result = cli(
        [
            str(recipe),
            "--context",
            "project_blueprints_root=blueprints/recipe_executor",
            "refs_root=ai_context",
            "dev_guide_path=none",
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        compat_dir,
    )
    assert result.returncode == 0, result.stderr
    dumped = json.loads(dump.read_text(encoding="utf-8"))
    ids = [c["id"] for c in dumped["components"]]
    assert "context" in ids and "steps.loop" in ids
    base = compat_dir / "blueprints/recipe_executor/components/context/context"
    assert dumped["spec"] == (Path(f"{base}_spec.md")).read_text(encoding="utf-8")
    assert dumped["docs"] == (Path(f"{base}_docs.md")).read_text(encoding="utf-8")


def test_corpus_document_generator_docpack_flow_from_the_cli(compat_dir: Path, tmp_path: Path) -> None:
    resources = compat_dir / "recipes/document_generator/examples/resources"
    outline = {
        "title": "Pack",
        "general_instruction": "copy",
        "resources": [
            {"key": "specs", "path": str(resources / "product_specs.md"), "description": "specs"},
            {"key": "pricing", "path": str(resources / "pricing_strategy.md"), "description": "pricing"},
        ],
        "sections": [
            {"title": "Specs", "resource_key": "specs"},
            {"title": "Pricing", "resource_key": "pricing"},
        ],
    }
    outline_path = tmp_path / "outline.json"
    outline_path.write_text(json.dumps(outline), encoding="utf-8")
    pack = tmp_path / "doc.docpack"
    create = tmp_path / "create.json"
    create.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "docpack_create",
                        "config": {
                            "outline_path": "{{ outline_file }}",
                            "resource_files": "{{ r1 }},{{ r2 }}",
                            "output_path": "{{ pack }}",
                        },
                    }
                ]
            }
        )
    )
    logs = str(tmp_path / "logs")
    made = cli(
        [
            str(create),
            "--context",
            f"outline_file={outline_path}",
            f"r1={outline['resources'][0]['path']}",
            f"r2={outline['resources'][1]['path']}",
            f"pack={pack}",
            "--log-dir",
            logs,
        ],
        compat_dir,
    )
    assert made.returncode == 0, made.stderr
    out = tmp_path / "final"
    ran = cli(
        [
            "recipes/document_generator/generate_document_from_docpack.json",
            "--context",
            f"docpack_path={pack}",
            f"output_root={out}",
            "--log-dir",
            logs,
        ],
        compat_dir,
    )
    assert ran.returncode == 0, ran.stderr
    document = (
        (out / "PACK.md").read_text(encoding="utf-8")
        if (out / "PACK.md").exists()
        else next(out.glob("*.md")).read_text(encoding="utf-8")
    )
    assert (resources / "product_specs.md").read_text(encoding="utf-8").strip()[:200] in document
    assert (resources / "pricing_strategy.md").read_text(encoding="utf-8").strip()[:200] in document


# === gaps found in review ======================================================================


@pytest.mark.parametrize("items", ["{{ xs }}", "xs"])
async def test_loop_items_json_text_through_a_template_or_a_path(items: str) -> None:
    ctx = await run(
        {
            "steps": [
                {
                    "type": "loop",
                    "items": items,
                    "item_key": "item",
                    "substeps": [{"type": "fail_if"}],
                    "result_key": "r",
                }
            ]
        },
        xs='["a", "b"]',
    )
    assert ctx["r"] == ["A", "B"]


async def test_loop_items_template_rendering_to_an_unknown_key_says_what_it_rendered() -> None:
    error, _ = await run_error(
        {"steps": [{"type": "loop", "items": "{{ which }}", "item_key": "i", "substeps": [], "result_key": "r"}]},
        which="nowhere",
    )
    assert "'{{ which }}'" in str(error) and "'nowhere'" in str(error)


async def test_docpack_create_resource_files_json_text_from_the_cli(tmp_path: Path) -> None:
    outline_path, files = make_sources(tmp_path)
    recipe = tmp_path / "create.json"
    recipe.write_text(
        json.dumps(
            {
                "steps": [
                    {
                        "type": "docpack_create",
                        "outline_path": str(outline_path),
                        "resource_files": "{{ resources }}",
                        "output_path": "pack.docpack",
                    }
                ]
            }
        )
    )
    listed = json.dumps([str(files[0]), str(files[2])])
    result = cli([str(recipe), "--context", f"resources={listed}", "--log-dir", str(tmp_path / "logs")], tmp_path)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "pack.docpack") as archive:
        # the outline's third resource (b/notes.md) is packed as well: the docpack is self-contained
        assert {"outline.json", "notes.md", "data.csv"} <= set(archive.namelist())


def _bad_docpack(tmp_path: Path) -> Path:
    pack = tmp_path / "slip.docpack"
    write_zip(pack, {"outline.json": "{}", "../../escape.txt": "x"})
    return pack


@pytest.mark.parametrize(
    ("step", "context", "phrase"),
    [
        ({"type": "loop", "items": "nums", "item_key": "n", "substeps": [], "result_key": "r"}, [], "'nums'"),
        ({"type": "loop", "items": "nums", "item_key": "n", "substeps": [], "result_key": "r"}, ["nums=5"], "'nums'"),
        ({"type": "conditional", "condition": "{{ c }}", "if_true": {"steps": []}}, ["c=open('x')"], "open('x')"),
        ({"type": "docpack_extract", "docpack_path": "slip.docpack", "extract_dir": "out"}, [], "escape.txt"),
        ({"type": "read_files", "path": "binary.bin", "content_key": "c"}, [], "binary.bin"),
    ],
    ids=["missing-items", "non-collection-items", "unsafe-condition", "zip-slip", "unreadable-file"],
)
def test_cli_bad_input_exits_1_with_one_line_naming_file_and_step(
    step: dict[str, Any], context: list[str], phrase: str, tmp_path: Path
) -> None:
    _bad_docpack(tmp_path)
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x81\x00")
    recipe = tmp_path / "bad_input.json"
    recipe.write_text(
        json.dumps({"steps": [step, {"type": "write_files", "files": [{"path": "after.txt", "content": "x"}]}]})
    )
    args = [str(recipe), "--log-dir", str(tmp_path / "logs")]
    if context:
        args += ["--context", *context]
    result = cli(args, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("recipe-executor:")]
    assert len(lines) == 1 and "steps[0]" in lines[0] and phrase in lines[0]
    assert not (tmp_path / "after.txt").exists()
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


async def test_misspelled_branch_steps_is_an_error_not_a_silent_no_op() -> None:
    error, ctx = await run_error(
        {
            "steps": [
                {
                    "type": "conditional",
                    "condition": "true",
                    "if_true": {"step": [{"type": "set_context", "key": "a", "value": "b"}]},
                }
            ]
        }
    )
    assert "if_true" in str(error) and "'step'" in str(error)
    assert "a" not in ctx
