"""The one Liquid environment, and rendering of strings and nested values against a context.

Templates are parsed once and cached. Plain ``{{ a.b }}`` templates skip Liquid entirely (see
``_simple_templates``), and Liquid itself is imported only when a template needs it.
Rendering reads the context's artifacts in place, never copying them, so a render costs what
the template uses, not the size of the context.
Undefined variables render empty, as upstream; in strict mode (``--strict-templates``) they are
an error naming the variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from io import StringIO
from typing import Any

from ._simple_templates import MISS, lookup, render_simple, simple_plan, single_path
from .context import deep_copy
from .errors import TemplateError
from .protocols import ContextProtocol
from .runtime import current_run

__all__ = [
    "check_template",
    "is_template",
    "render_owned",
    "render_structured",
    "render_template",
    "render_value",
    "snakecase",
]

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%).)*)\}\}\s*$", re.DOTALL)


def snakecase(value: object) -> str:
    """Upstream's ``snakecase`` filter: ``"Hello There MyDocument"`` → ``hello_there_my_document``."""
    text = str(value)
    text = re.sub(r"[\s\-]+", "_", text)
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text)
    text = text.lower()
    text = re.sub(r"[^a-z0-9_]", "", text)
    text = re.sub(r"_+", "_", text)
    return text.strip("_")


_ENGINE: Any = None


def _liquid() -> Any:
    """The Liquid glue module (``_liquid_env``), imported on first use."""
    global _ENGINE
    if _ENGINE is None:
        from . import _liquid_env

        _ENGINE = _liquid_env
    return _ENGINE


def is_template(text: str) -> bool:
    """True if ``text`` contains Liquid markup and so needs rendering."""
    return "{{" in text or "{%" in text


@lru_cache(maxsize=8192)
def _parse(source: str, strict: bool) -> Any:
    return _liquid().parse(source, strict)


def _strict() -> bool:
    return current_run().options.strict_templates


def _template(source: str, strict: bool) -> Any:
    try:
        return _parse(source, strict)
    except _liquid().LiquidError as exc:
        raise TemplateError(f"invalid Liquid template {_excerpt(source)}: {_liquid_message(exc)}") from exc


def check_template(source: str) -> str | None:
    """The syntax error in ``source`` as a sentence, or ``None`` if it parses."""
    if not is_template(source) or simple_plan(source) is not None:
        return None
    try:
        _parse(source, False)
    except _liquid().LiquidError as exc:
        return f"invalid Liquid template {_excerpt(source)}: {_liquid_message(exc)}"
    return None


def _view(context: ContextProtocol | Mapping[str, Any]) -> Mapping[str, Any]:
    view = getattr(context, "template_view", None)
    if callable(view):
        return view()  # type: ignore[no-any-return]
    if isinstance(context, Mapping):
        return context
    return context.dict()


def render_template(text: str, context: ContextProtocol | Mapping[str, Any]) -> str:
    """Render ``text`` against the context's artifacts; text without markup is returned as is."""
    if not is_template(text):
        return text
    plan = simple_plan(text)
    if plan is not None:  # plain text with {{ a.b }} outputs: no Liquid needed (see _simple_templates)
        rendered = render_simple(plan, _view(context))
        if rendered is not None:
            return rendered
    strict = _strict()
    template = _template(text, strict)
    render_context = template.context_class(template, globals=template.make_globals(_view(context)))
    buffer = StringIO()
    try:
        template.render_with_context(render_context, buffer)
    except _liquid().LiquidError as exc:
        raise TemplateError(f"could not render template {_excerpt(text)}: {_liquid_message(exc)}") from exc
    return buffer.getvalue()


def render_structured(text: str, context: ContextProtocol | Mapping[str, Any]) -> Any:
    """Render ``text``; if it is exactly one ``{{ expression }}``, return the expression's value.

    This lets ``"{{ items }}"`` pass a list or object through unchanged where a field accepts
    structures. An undefined value gives ``""`` as upstream's render would (an error in strict
    mode); anything else defined, ``None`` included, is returned as it is.
    """
    if not is_template(text) or not _SINGLE_EXPRESSION.match(text):
        return render_template(text, context)
    path = single_path(text)
    if path is not None:
        found = lookup(_view(context), path)
        if found is not MISS:
            return found
    strict = _strict()
    template = _template(text.strip(), strict)
    if len(template.nodes) != 1 or not isinstance(template.nodes[0], _liquid().OutputNode):
        return render_template(text, context)
    render_context = template.context_class(template, globals=template.make_globals(_view(context)))
    try:
        value = template.nodes[0].expression.evaluate(render_context)
    except _liquid().LiquidError as exc:
        raise TemplateError(f"could not render template {_excerpt(text)}: {_liquid_message(exc)}") from exc
    # ``type()`` first: a strict undefined raises on ``__class__``, which ``isinstance`` reads.
    if issubclass(type(value), _liquid().Undefined):
        if strict:
            # Printing a strict undefined raises Liquid's own message, which names the whole
            # path (``x.y is undefined``), not just its root.
            reason = f"{getattr(value, 'name', text)!r} is undefined"
            try:
                str(value)
            except _liquid().LiquidError as exc:
                reason = _liquid_message(exc)
            raise TemplateError(f"could not render template {_excerpt(text)}: {reason}")
        return ""  # what upstream's render prints, so `{% if x %}` later behaves the same
    if isinstance(value, range):
        return list(value)  # `{{ (1..3) }}`: a plain list, not a Python range in the context
    if type(value).__module__.startswith("liquid."):
        # Liquid's own objects (`{{ empty }}`, `{{ blank }}`) are not data: keep what they print.
        return render_template(text, context)
    return value


def render_owned(text: str, context: ContextProtocol | Mapping[str, Any]) -> Any:
    """:func:`render_structured` for a value a step stores or writes.

    Text with whitespace around the one expression stays text (``"\n\n{{ body }}"`` keeps its
    leading blank lines, as upstream did), and a structured result is a private deep copy, so it
    never aliases another key's value or a parent context's.
    """
    if text != text.strip():
        return render_template(text, context)
    return deep_copy(render_structured(text, context))


def render_value(value: Any, context: ContextProtocol | Mapping[str, Any], *, structured: bool = False) -> Any:
    """Render every string inside ``value`` (dict values and list items, recursively).

    Dict keys are left as they are. With ``structured``, a string that is exactly one
    ``{{ expression }}`` becomes the expression's value (see :func:`render_structured`).
    """
    if isinstance(value, str):
        return render_structured(value, context) if structured else render_template(value, context)
    if isinstance(value, dict):
        return {k: render_value(v, context, structured=structured) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, structured=structured) for v in value]
    return value


def _excerpt(text: str, limit: int = 80) -> str:
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(short)


def _liquid_message(exc: Exception) -> str:
    return _liquid().liquid_message(exc)  # type: ignore[no-any-return]
