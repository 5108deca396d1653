"""``set_context``: store a value (any JSON value; strings rendered) under a key.

``value`` strings are rendered recursively (dict values, list items); a string that is exactly
``"{{ expression }}"`` keeps the expression's value (a list stays a list). ``nested_render``
re-renders until the text stops changing, at most :data:`MAX_NESTED_PASSES` times.
``if_exists: merge`` combines with an existing value as upstream does.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from ..protocols import ContextProtocol
from ..templates import is_template, render_template, render_value
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["MAX_NESTED_PASSES", "SetContextConfig", "SetContextStep", "merge_values"]

MAX_NESTED_PASSES = 10


class SetContextConfig(StepConfig):
    """Config for SetContextStep.

    Fields:
        key: the artifact key (a template).
        value: any JSON value; strings inside are rendered.
        nested_render: re-render rendered strings until they stop changing (bounded).
        if_exists: "overwrite" (default) or "merge" with the existing value.
    """

    key: str
    value: Any = None
    nested_render: bool = False
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


def _nested(value: Any, context: ContextProtocol) -> Any:
    if isinstance(value, str):
        for _ in range(MAX_NESTED_PASSES):
            if not is_template(value):
                break
            again = render_template(value, context)
            if again == value:
                break
            value = again
        return value
    if isinstance(value, dict):
        return {k: _nested(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested(v, context) for v in value]
    return value


@register_step("set_context")
class SetContextStep(BaseStep[SetContextConfig]):
    """Stores a rendered value in the context; see the module docstring."""

    def __init__(self, logger: logging.Logger, config: dict[str, Any] | SetContextConfig) -> None:
        super().__init__(logger, config)

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        key = render_template(cfg.key, context)
        value = render_value(cfg.value, context, structured=True)
        if cfg.nested_render:
            value = _nested(value, context)
        if cfg.if_exists == "merge" and key in context:
            value = merge_values(context[key], value)
        context[key] = value
