"""``loop``: run ``substeps`` once per item of a list or object, each item on its own clone.

Upstream's semantics are kept: each item runs on a clone of the context with ``item_key`` set to
the item and ``__index`` (lists) or ``__key`` (objects); the item's result is the value of
``item_key`` after the substeps; the results go to ``result_key`` (a literal key: dots are not
nested), failures to ``<result_key>__errors`` and every processed item to
``<result_key>__history``. Unlike upstream, results keep input order, ``delay`` also spaces
sequential items, and ``fail_fast: true`` cancels the running items and fails the step with an
error naming the item (the context is then left untouched).

Items run through :func:`recipe_executor._concurrency.run_bounded`, which caps live workers, and
each worker clones the context only when it starts, so 100,000 items never become 100,000 tasks
or clones at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._concurrency import Outcome, Report
from ..context import deep_copy
from ..errors import RecipeExecutorError, StepError
from ..protocols import ContextProtocol
from ..templates import render_structured, render_template, render_value
from ..values import parse_json_structure
from .base import BaseStep, TemplatedInt
from .fanout import FanOutConfig, check_timeout, failure_error, run_children
from .registry import register_step
from .runner import run_steps

__all__ = ["LoopConfig", "LoopStep", "resolve_items"]

_MISSING = object()


class LoopConfig(FanOutConfig):
    """Config for LoopStep.

    Fields:
        items: a dot path into the context (``"outline.resources"``), a template rendering to
            one (or, when it is exactly ``"{{ expression }}"``, to the collection itself; JSON
            text for a list or object counts as that collection), or a literal list or object
            (string elements are rendered).
        item_key: the key each item is stored under in its clone (a template).
        substeps: the steps run for every item (either step shape).
        result_key: where the results go (a template; a literal key, dots are not nested).
        max_concurrency: most items running at once; 1 (default) is sequential, 0 means no limit.
        delay: seconds between starting consecutive items; the first starts at once.
        timeout: seconds for the whole loop; None means no limit.
        fail_fast: stop at the first failure, cancel running items and fail the step (default);
            false runs every item and records failures in ``<result_key>__errors``.
    """

    items: str | list[Any] | dict[str, Any]
    item_key: str
    substeps: list[dict[str, Any]]
    result_key: str
    max_concurrency: TemplatedInt = 1


def _walk(root: Mapping[str, Any], path: str) -> Any:
    """The value at dot ``path`` under ``root``; list items by number (``a.0``); else _MISSING."""
    value: Any = root
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _as_collection(value: Any, shown: str) -> list[Any] | dict[str, Any]:
    if isinstance(value, str):
        value = parse_json_structure(value)
    if isinstance(value, (list, dict)):
        return value
    if isinstance(value, tuple):
        return list(value)
    raise StepError(
        f"loop items {shown} is {type(value).__name__} {value!r:.60}, not a list or an object; "
        "point items at a list or object in the context"
    )


def resolve_items(items: Any, context: ContextProtocol) -> list[Any] | dict[str, Any]:
    """The collection ``items`` names (see :class:`LoopConfig`). Not copied: do not mutate it."""
    if isinstance(items, list):
        return [render_value(v, context, structured=True) for v in items]
    if isinstance(items, dict):
        return {k: render_value(v, context, structured=True) for k, v in items.items()}
    value = render_structured(items, context)
    if isinstance(value, str):
        value = parse_json_structure(value)  # `"{{ xs }}"` with xs='["a","b"]' from --context
    if isinstance(value, (list, dict, tuple)):
        return _as_collection(value, repr(items))
    path = ("" if value is None else str(value)).strip()
    if not path:
        raise StepError(f"loop items {items!r} rendered empty; give the context key of a list or object")
    view = getattr(context, "template_view", None)
    found = _walk(view() if callable(view) else context.dict(), path)
    if found is _MISSING:
        shown = repr(path) if path == items.strip() else f"{items!r} rendered to {path!r}, which"
        raise StepError(f"loop items {shown} is not in the context; set it before the loop or fix the key")
    if found is None:
        raise StepError(f"loop items {path!r} is None, not a list or an object")
    return _as_collection(found, repr(path))


@register_step("loop")
class LoopStep(BaseStep[LoopConfig]):
    """Runs ``substeps`` for every item; see the module docstring."""


    @classmethod
    def child_steps(cls, config: LoopConfig) -> Sequence[tuple[str, Sequence[Any]]]:
        return [("substeps", config.substeps)]

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        collection = resolve_items(cfg.items, context)
        item_key = render_template(cfg.item_key, context).strip()
        result_key = render_template(cfg.result_key, context).strip()
        if not item_key or not result_key:
            raise StepError(f"loop item_key {cfg.item_key!r} and result_key {cfg.result_key!r} must not render empty")
        limits = cfg.limits(context)

        is_dict = isinstance(collection, dict)
        keys: list[Any] = list(collection) if isinstance(collection, dict) else list(range(len(collection)))
        values: Sequence[Any] = list(collection.values()) if isinstance(collection, dict) else collection
        substeps = cfg.substeps
        self.logger.info(
            "Looping over %d item(s) (max_concurrency=%s)", len(keys), limits.max_concurrency or "unlimited"
        )

        def label(index: int) -> str:
            return f"items[{keys[index]!r}]" if is_dict else f"items[{index}]"

        async def worker(index: int) -> Any:
            clone = context.clone()
            clone[item_key] = deep_copy(values[index])
            if is_dict:
                clone["__key"] = keys[index]
            else:
                clone["__index"] = index
            try:
                await run_steps(substeps, clone, logger=self.logger, field="substeps")
            except RecipeExecutorError as exc:
                exc.add_segment(label(index))
                raise
            return clone.get(item_key)

        report: Report[Any] = await run_children(len(keys), worker, limits)
        check_timeout(report, limits, "items")
        if report.failures and limits.fail_fast:
            raise failure_error(report.failures, len(keys), "items", label)
        self._store(context, result_key, report.outcomes, keys, is_dict)

    def _store(
        self, context: ContextProtocol, result_key: str, outcomes: list[Outcome[Any]], keys: list[Any], is_dict: bool
    ) -> None:
        results: list[Any] | dict[str, Any] = {} if is_dict else []
        errors: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        for outcome in outcomes:
            key = keys[outcome.index]
            if outcome.status == "succeeded":
                if isinstance(results, dict):
                    results[key] = outcome.value
                else:
                    results.append(outcome.value)
                history.append({"key": key, "result": outcome.value, "error": None})
            elif outcome.status == "failed":
                message = str(outcome.error)
                errors.append({"key": key, "error": message})
                history.append({"key": key, "result": None, "error": message})
        if errors:
            self.logger.warning("%d of %d loop item(s) failed; see %r", len(errors), len(keys), f"{result_key}__errors")
        context[result_key] = results
        context[f"{result_key}__errors"] = errors
        context[f"{result_key}__history"] = history
