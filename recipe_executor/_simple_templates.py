"""A fast path for the most common template shape: text with ``{{ name }}`` / ``{{ a.b.c }}``
outputs and nothing else (no filters, tags, whitespace control or literals).

Parsing such a template with Liquid costs tens of microseconds and rendering it builds a
render context; a recipe of thousands of steps paid that for every field. Here the template
is split once (cached) into text and variable paths, and rendered by direct lookups.

The result is exactly what Liquid renders: a path is looked up the way Liquid's
``RenderContext.get`` does for these shapes (the render arguments come first in its scope;
a dict holding the key returns ``obj[key]``, which Liquid's ``get_item`` also does first), and
values are stringified as Liquid's ``to_liquid_string`` does (:func:`liquid_string`; it is
repeated here so that such templates need no Liquid import at all). Whenever a lookup would need
more than that (a missing variable, a non-dict along the path, ``.size`` of a list), the fast
path declines and the caller renders with Liquid, so undefined handling and strict mode are
unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["MISS", "liquid_string", "lookup", "render_simple", "simple_plan", "single_path"]

_OUTPUT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# Words Liquid reads as literals, not variables.
_LITERALS = frozenset({"true", "false", "nil", "null", "empty", "blank"})

Plan = tuple[str | tuple[str, ...], ...]

MISS = object()
"""Returned by :func:`lookup` when the fast path cannot resolve a path."""


@lru_cache(maxsize=16384)
def simple_plan(source: str) -> Plan | None:
    """``source`` as text pieces and path tuples, or ``None`` if it is not of the simple shape."""
    if "{%" in source or "{#" in source:
        return None
    pieces: list[str | tuple[str, ...]] = []
    position = 0
    for match in _OUTPUT.finditer(source):
        text = source[position : match.start()]
        if "{{" in text:
            return None
        if text:
            pieces.append(text)
        path = tuple(match.group(1).split("."))
        if path[0] in _LITERALS:
            return None
        pieces.append(path)
        position = match.end()
    tail = source[position:]
    if "{{" in tail:
        return None
    if tail:
        pieces.append(tail)
    return tuple(pieces)


def single_path(source: str) -> tuple[str, ...] | None:
    """The path of a template that is exactly one ``{{ path }}`` (surrounding blanks allowed)."""
    plan = simple_plan(source.strip())
    if plan is not None and len(plan) == 1 and isinstance(plan[0], tuple):
        return plan[0]
    return None


def lookup(view: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``view``, or :data:`MISS` if Liquid must resolve it."""
    root = path[0]
    if root not in view:
        return MISS
    value = view[root]
    for segment in path[1:]:
        if type(value) is not dict or segment not in value:
            return MISS
        value = value[segment]
    return value


def liquid_string(value: Any) -> str:
    """``value`` as Liquid outputs it without autoescape (``liquid.stringify.to_liquid_string``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(item if isinstance(item, str) else str(item) for item in value)
    if isinstance(value, range):
        return f"{value.start}..{value.stop - 1}"
    return str(value)


def render_simple(plan: Plan, view: Mapping[str, Any]) -> str | None:
    """Render ``plan`` against ``view``; ``None`` if a path needs Liquid's full resolution."""
    out: list[str] = []
    for piece in plan:
        if type(piece) is str:
            out.append(piece)
            continue
        value = lookup(view, piece)  # type: ignore[arg-type]
        if value is MISS:
            return None
        out.append(value if type(value) is str else liquid_string(value))
    return "".join(out)
