"""output_format → the schema sent to the model: free-form objects stay free-form."""

from __future__ import annotations

from typing import Any

from recipe_executor.llm.schema import open_free_form_objects, output_spec


def test_free_form_objects_are_marked_open_at_every_depth() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "meta": {"type": "object"},
            "maybe": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            "rows": {"type": "array", "items": {"type": ["object", "null"]}},
            "closed": {"type": "object", "additionalProperties": False},
            "shaped": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    opened = open_free_form_objects(schema)
    props = opened["properties"]
    assert props["meta"] == {"type": "object", "additionalProperties": True}
    assert props["maybe"]["anyOf"][0]["additionalProperties"] is True
    assert props["rows"]["items"]["additionalProperties"] is True
    assert props["closed"]["additionalProperties"] is False  # the author's choice is kept
    assert "additionalProperties" not in props["shaped"]
    assert "additionalProperties" not in schema["properties"]["meta"]  # the input is not changed


def test_output_spec_sends_open_free_form_objects_for_objects_and_list_items() -> None:
    spec = output_spec({"type": "object", "properties": {"meta": {"type": "object"}}})
    assert spec.schema is not None and spec.schema["properties"]["meta"]["additionalProperties"] is True
    listed = output_spec([{"type": "object"}])
    assert listed.schema is not None
    assert listed.schema["properties"]["items"]["items"]["additionalProperties"] is True
