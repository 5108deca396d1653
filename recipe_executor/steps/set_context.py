"""``set_context``: store a value (any JSON value; strings rendered) under a key.

``key`` is a template. ``value`` may be any JSON value — also ``true``, a number or ``null``,
which upstream rejected. Strings inside it are rendered recursively (dict keys and values, list
items); a string that is exactly ``"{{ expression }}"`` keeps the expression's value, so a list
stays a list (upstream always stored text); an undefined one stores ``""`` as upstream did.
``nested_render`` re-renders rendered strings until they stop
changing, at most :data:`MAX_NESTED_PASSES` times, so a cycle such as ``a → b → a`` ends.
``if_exists: merge`` combines with an existing value exactly as upstream does.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import is_template, render_owned, render_template
from .base import BaseStep, StepConfig, TemplatedBool, resolve_templated
from .registry import register_step

__all__ = ["MAX_NESTED_PASSES", "SetContextConfig", "SetContextStep", "merge_values", "render_leaves"]

MAX_NESTED_PASSES = 10
"""How many extra render passes ``nested_render`` makes at most."""


class SetContextConfig(StepConfig):
    """Config for SetContextStep.

    Fields:
        key: the artifact key (a template).
        value: any JSON value; strings inside (and dict keys) are rendered.
        nested_render: re-render rendered strings until they stop changing (bounded).
        if_exists: "overwrite" (default) or "merge" with the existing value.
    """

    key: str
    value: Any
    nested_render: TemplatedBool = False
    if_exists: Literal["overwrite", "merge"] = "overwrite"


def merge_values(old: Any, new: Any) -> Any:
    """Upstream's merge: str+str, list+list, list+item, dict update, else ``[old, new]``."""
    if isinstance(old, str) and isinstance(new, str):
        return old + new
    if isinstance(old, list):
        return old + new if isinstance(new, list) else [*old, new]
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **new}
    return [old, new]


def render_leaves(value: Any, context: ContextProtocol) -> Any:
    """Render every string in ``value``: dict keys as text, leaves structured.

    A structured result is a private deep copy, so the stored value never aliases another key's
    value (or a value shared with a parent context).
    """
    if isinstance(value, str):
        return render_owned(value, context) if is_template(value) else value
    if isinstance(value, dict):
        return {render_template(k, context): render_leaves(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_leaves(v, context) for v in value]
    return value


def _nested(value: Any, context: ContextProtocol, logger: logging.Logger) -> Any:
    if isinstance(value, str):
        for _ in range(MAX_NESTED_PASSES):
            if not is_template(value):
                return value
            again = render_template(value, context)
            if again == value:
                return value
            value = again
        if is_template(value):
            logger.warning("nested_render stopped after %d passes; the text still holds markup", MAX_NESTED_PASSES)
        return value
    if isinstance(value, dict):
        return {k: _nested(v, context, logger) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested(v, context, logger) for v in value]
    return value


@register_step("set_context")
class SetContextStep(BaseStep[SetContextConfig]):
    """Stores a rendered value in the context; see the module docstring."""


    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        key = render_template(cfg.key, context)
        if not key.strip():
            raise StepError(f"key {cfg.key!r} rendered to an empty string; give a non-empty key")
        merging = cfg.if_exists == "merge" and key in context
        if merging and isinstance(cfg.value, str) and isinstance(context.get(key), str):
            # Appending to text: render as text, as upstream did, so "{{ n }}" appends "5".
            value: Any = render_template(cfg.value, context)
        else:
            value = render_leaves(cfg.value, context)
        if resolve_templated(cfg.nested_render, bool, context, "nested_render"):
            value = _nested(value, context, self.logger)
        if merging:
            value = merge_values(context[key], value)
        context[key] = value
        self.logger.debug("set_context stored %r (%s)", key, type(value).__name__)
