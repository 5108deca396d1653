"""The Liquid environments (lenient and strict) and what templates.py needs from Liquid.

Imported on first need by :mod:`recipe_executor.templates`: recipes whose templates are all
plain ``{{ a.b }}`` outputs (see :mod:`recipe_executor._simple_templates`) never pay for
importing Liquid, which is a quarter of the engine's start-up time.
"""

from __future__ import annotations

from typing import Any

from liquid import Environment, Undefined
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError, UndefinedError
from liquid.undefined import FalsyStrictUndefined

from .templates import snakecase

__all__ = ["LiquidError", "OutputNode", "Undefined", "liquid_message", "parse"]


class _StrictUndefined(FalsyStrictUndefined):
    """Strict mode's undefined: printing, iterating or indexing it is an error naming it, but
    ``{% if name %}`` tests false and ``| default: …`` supplies its fallback, because recipes
    use both to handle optional values on purpose."""

    force_liquid_default = True


def _make_env(undefined: type[Undefined]) -> Environment:
    env = Environment(autoescape=False, extra=True, undefined=undefined)
    env.add_filter("snakecase", snakecase)
    return env


_LENIENT = _make_env(Undefined)
_STRICT = _make_env(_StrictUndefined)


def parse(source: str, strict: bool) -> Any:
    """``source`` parsed by the strict or lenient environment (raises ``LiquidError``)."""
    return (_STRICT if strict else _LENIENT).from_string(source)


def liquid_message(exc: LiquidError) -> str:
    """The first line of a Liquid error's message, without a trailing period."""
    if isinstance(exc, UndefinedError):
        return str(getattr(exc, "message", None) or exc).splitlines()[0]
    message = getattr(exc, "message", None) or str(exc)
    return str(message).splitlines()[0].rstrip(".")
