"""``output_format`` → what the model is asked for and what the step stores. No SDK import.

- ``"text"``: plain text, stored as a string;
- ``"files"``: ``{"files": [{"path", "content"}]}``, stored as a list of plain dicts so that
  templates, ``| json`` and ``write_files`` all see ordinary data;
- a JSON-schema object (root ``type: object``): stored as the object;
- ``[item schema]``: asked as ``{"items": [item, …]}``, stored as the list.

Schemas are sent to the model as written (descriptions, enums, nested free-form objects) and the
answer is validated against them in full with ``jsonschema``; an invalid answer is sent back to
the model for another try. Free-form objects (no ``properties``, no ``additionalProperties``) are
marked ``additionalProperties: true``, which means the same in JSON Schema but stops pydantic-ai's
OpenAI schema transformer from turning them into "an object with no keys" (see
:func:`open_free_form_objects`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FILES_SCHEMA", "OutputSpec", "check_output_format", "open_free_form_objects", "output_spec"]

FILES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FileSpecCollection",
    "description": "The files to create.",
    "properties": {
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Relative path of the file."},
                    "content": {"type": "string", "description": "The complete file content."},
                },
                "required": ["path", "content"],
            },
        }
    },
    "required": ["files"],
}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """How to ask for and unpack one ``output_format``.

    ``schema`` is ``None`` for text; ``unwrap`` names the property whose value is stored
    (``"files"``, ``"items"``) or is ``None`` to store the whole object.
    """

    kind: Literal["text", "files", "object", "list"]
    schema: dict[str, Any] | None
    unwrap: str | None = None


def check_output_format(output_format: Any) -> str | None:
    """What is wrong with ``output_format``, as a sentence, or ``None`` if it is usable."""
    if output_format in ("text", "files"):
        return None
    if isinstance(output_format, dict):
        return _check_object_schema(output_format, "output_format")
    if isinstance(output_format, list):
        if len(output_format) != 1 or not isinstance(output_format[0], dict):
            return (
                f"output_format list must hold exactly one item schema, e.g. [{{\"type\": \"object\", ...}}], "
                f"got {len(output_format)} entries"
            )
        return _check_schema(output_format[0], "output_format[0]")
    return (
        f"unsupported output_format {output_format!r}; use 'text', 'files', a JSON-schema object "
        "or a one-item list holding an item schema"
    )


def _check_object_schema(schema: dict[str, Any], where: str) -> str | None:
    if schema.get("type") != "object":
        return f"{where} must be a JSON schema with \"type\": \"object\" at its root, got type {schema.get('type')!r}"
    return _check_schema(schema, where)


def _check_schema(schema: dict[str, Any], where: str) -> str | None:
    try:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
        from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
    except ImportError:  # the llm extras are missing; generation reports the install hint
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"{where} is not a valid JSON schema: {exc.message}"
    properties = schema.get("properties") or {}
    missing = [name for name in schema.get("required", []) if isinstance(properties, dict) and name not in properties]
    if schema.get("type") == "object" and properties and missing:
        return f"{where} requires {missing!r}, which are not in its properties"
    return None


_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_KEYS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def open_free_form_objects(schema: Any) -> Any:
    """A copy of ``schema`` where every object without ``properties`` or ``additionalProperties``
    says ``additionalProperties: true``.

    Same meaning in JSON Schema, but pydantic-ai's OpenAI transformer adds
    ``additionalProperties: false`` to objects that leave it unset, which tells the model that
    a free-form object (``{"type": "object"}``) must be empty; this keeps its data (upstream's
    models dropped it). Used for output schemas and MCP tool schemas alike.
    """
    if isinstance(schema, list):
        return [open_free_form_objects(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(result.get(key), list):
            result[key] = [open_free_form_objects(item) for item in result[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(result.get(key), dict):
            result[key] = {name: open_free_form_objects(sub) for name, sub in result[key].items()}
    for key in _SUBSCHEMA_KEYS:
        if isinstance(result.get(key), dict):
            result[key] = open_free_form_objects(result[key])
    if _is_object(result) and not result.get("properties") and "additionalProperties" not in result:
        result["additionalProperties"] = True
    return result


def output_spec(output_format: Any) -> OutputSpec:
    """The :class:`OutputSpec` for a checked ``output_format`` (``ValueError`` if unusable)."""
    problem = check_output_format(output_format)
    if problem:
        raise ValueError(problem)
    if output_format == "text":
        return OutputSpec("text", None)
    if output_format == "files":
        return OutputSpec("files", FILES_SCHEMA, unwrap="files")
    if isinstance(output_format, dict):
        schema = open_free_form_objects(output_format)
        schema.setdefault("title", "LLMObject")
        return OutputSpec("object", schema)
    item = open_free_form_objects(output_format[0])
    wrapper = {
        "type": "object",
        "title": "LLMList",
        "properties": {"items": {"type": "array", "items": item}},
        "required": ["items"],
    }
    return OutputSpec("list", wrapper, unwrap="items")
