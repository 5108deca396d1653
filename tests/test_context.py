"""Context: the mapping API, config store, and copy-on-write clones that isolate totally."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recipe_executor import context as context_module
from recipe_executor.context import Context
from recipe_executor.protocols import ContextProtocol


def test_context_mapping_api_matches_upstream() -> None:
    ctx = Context(artifacts={"a": 1}, config={"k": "v"})
    ctx["b"] = [1, 2]
    assert ctx["a"] == 1
    assert ctx.get("missing") is None
    assert ctx.get("missing", "d") == "d"
    assert "b" in ctx
    assert 3 not in ctx  # non-string keys are simply absent, as upstream
    assert sorted(ctx.keys()) == ["a", "b"]
    assert sorted(ctx) == ["a", "b"]
    assert len(ctx) == 2
    del ctx["a"]
    assert "a" not in ctx
    assert isinstance(ctx, ContextProtocol)


def test_context_missing_key_error_names_the_key() -> None:
    ctx = Context()
    with pytest.raises(KeyError, match="Key 'nope' not found in Context"):
        ctx["nope"]
    with pytest.raises(KeyError, match="Key 'nope' not found in Context"):
        del ctx["nope"]


def test_context_iteration_is_a_snapshot_so_writes_during_iteration_are_safe() -> None:
    ctx = Context(artifacts={"a": 1, "b": 2})
    for key in ctx:
        ctx[key + "_copy"] = ctx[key]
    assert sorted(ctx) == ["a", "a_copy", "b", "b_copy"]


def test_context_constructor_copies_callers_objects() -> None:
    items = [1, 2]
    settings = {"nested": {"x": 1}}
    ctx = Context(artifacts={"items": items}, config=settings)
    ctx["items"].append(3)
    ctx.get_config()["nested"]["x"] = 2
    assert items == [1, 2]
    assert settings == {"nested": {"x": 1}}
    assert ctx["items"] == [1, 2, 3]
    assert ctx.get_config() == {"nested": {"x": 1}}


def test_context_dict_and_get_config_are_deep_copies() -> None:
    ctx = Context(artifacts={"d": {"x": [1]}}, config={"c": {"y": 1}})
    ctx.dict()["d"]["x"].append(2)
    ctx.get_config()["c"]["y"] = 5
    assert ctx["d"] == {"x": [1]}
    assert ctx.config_value("c") == {"y": 1}


def test_context_set_config_replaces_the_store_with_a_copy() -> None:
    ctx = Context(config={"old": 1})
    new = {"new": [1]}
    ctx.set_config(new)
    new["new"].append(2)
    assert ctx.get_config() == {"new": [1]}
    assert ctx.config_value("old", "gone") == "gone"


def test_context_json_turns_unserialisable_values_into_strings() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing"

    ctx = Context(artifacts={"n": 1, "s": {1, 2}, "t": Thing()})
    assert json.loads(ctx.json()) == {"n": 1, "s": [1, 2], "t": "thing"}


def test_clone_writes_are_not_visible_in_parent_or_siblings() -> None:
    parent = Context(artifacts={"a": 1})
    one, two = parent.clone(), parent.clone()
    one["a"] = 2
    one["new"] = "x"
    del two["a"]
    assert parent["a"] == 1
    assert "new" not in parent and "new" not in two
    assert one["a"] == 2
    assert "a" not in two


def test_clone_in_place_mutation_of_nested_values_stays_in_that_clone() -> None:
    parent = Context(artifacts={"doc": {"sections": [{"title": "a"}]}, "tags": ["x"]})
    one, two = parent.clone(), parent.clone()
    one["doc"]["sections"][0]["title"] = "changed"
    one["doc"]["sections"].append({"title": "b"})
    one.get("tags").append("y")
    assert parent["doc"] == {"sections": [{"title": "a"}]}
    assert two["doc"] == {"sections": [{"title": "a"}]}
    assert parent["tags"] == ["x"] and two["tags"] == ["x"]
    assert one["doc"]["sections"][1] == {"title": "b"}
    assert one["tags"] == ["x", "y"]


def test_clone_mutations_through_clones_of_clones_stay_isolated() -> None:
    parent = Context(artifacts={"xs": [1]})
    child = parent.clone()
    grandchild = child.clone()
    grandchild["xs"].append(3)
    child["xs"].append(2)
    assert parent["xs"] == [1]
    assert child["xs"] == [1, 2]
    assert grandchild["xs"] == [1, 3]


def test_parent_mutation_after_clone_is_not_visible_in_clone() -> None:
    parent = Context(artifacts={"xs": [1]})
    clone = parent.clone()
    parent["xs"].append(2)
    parent["new"] = 1
    assert clone["xs"] == [1]
    assert "new" not in clone


def test_references_taken_before_clone_do_not_reach_into_the_clone() -> None:
    parent = Context()
    written = [1]
    parent["written"] = written
    read = parent["read"] = {"k": [1]}
    held = parent["read"]
    clone = parent.clone()
    written.append(2)
    held["k"].append(2)
    assert read is held
    assert clone["written"] == [1]
    assert clone["read"] == {"k": [1]}
    assert parent["written"] == [1]  # the context kept the copy made at clone time


def test_reads_before_any_clone_return_the_live_object() -> None:
    ctx = Context(artifacts={"xs": [1]})
    ctx["xs"].append(2)
    ctx.get("xs").append(3)
    assert ctx["xs"] == [1, 2, 3]


def test_clone_config_is_isolated_too() -> None:
    parent = Context(config={"c": {"x": 1}})
    clone = parent.clone()
    clone.config_value("c")["x"] = 2
    clone.set_config({"other": 1})
    assert parent.get_config() == {"c": {"x": 1}}


@pytest.fixture
def copy_counter(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value ``deep_copy`` is asked to copy from outside (its own recursion not counted)."""
    calls: list[Any] = []
    real = context_module.deep_copy
    depth = [0]

    def counting(value: Any) -> Any:
        if depth[0] == 0:
            calls.append(value)
        depth[0] += 1
        try:
            return real(value)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(context_module, "deep_copy", counting)
    return calls


def test_clone_copies_no_values_regardless_of_their_size(copy_counter: list[Any]) -> None:
    big = {f"k{i}": {"payload": "x" * 1000, "items": list(range(100))} for i in range(200)}
    parent = Context(artifacts=big)
    copy_counter.clear()
    clones = [parent.clone() for _ in range(1000)]
    for clone in clones[:10]:
        clone["k0"] = "written"  # a write copies the key table, not the values
    assert copy_counter == []


def test_clone_copies_a_value_written_since_the_last_clone_once(copy_counter: list[Any]) -> None:
    parent = Context()
    copy_counter.clear()
    parent["result"] = {"big": list(range(1000))}
    parent["text"] = "immutable values are never copied"
    for _ in range(100):
        parent.clone()
    assert len(copy_counter) == 1


def test_clone_reads_copy_only_the_value_read(copy_counter: list[Any]) -> None:
    parent = Context(artifacts={f"k{i}": [i] for i in range(50)})
    copy_counter.clear()
    clone = parent.clone()
    clone["k3"]
    clone["k3"]
    assert copy_counter == [[3]]
