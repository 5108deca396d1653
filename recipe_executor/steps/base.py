"""``StepConfig`` and ``BaseStep``: what every step, built-in or custom, is made of.

A step class is built as ``StepClass(logger, config)`` and run as ``await step.execute(ctx)``.
``config`` may be a dict (validated here against the class's config model) or an already
validated ``StepConfig`` — upstream's custom steps pass ``MyConfig(**config)`` to
``super().__init__``, and that keeps working.

The config model is taken from the generic argument: ``class EchoStep(BaseStep[EchoConfig])``.
Whole-tree validation uses the same model, plus two class hooks composite steps override:
:meth:`BaseStep.child_steps` (nested step lists) and :meth:`BaseStep.static_recipe_path`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, WrapValidator

from ..protocols import ContextProtocol
from ..templates import is_template, render_template

__all__ = [
    "BaseStep",
    "ConfigT",
    "StepConfig",
    "TemplatedBool",
    "TemplatedFloat",
    "TemplatedInt",
    "describe_validation_error",
    "resolve_templated",
]


class StepConfig(BaseModel):
    """Base of step configs. Unknown keys are ignored here and reported by validation."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


ConfigT = TypeVar("ConfigT", bound=StepConfig)


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


def _convert(text: str, kind: type[Any]) -> Any:
    """``text`` as ``kind``; ``ValueError`` if it is not one."""
    text = text.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(text)
    if kind is int:
        number = float(text)
        if not number.is_integer():
            raise ValueError(text)
        return int(number)
    return kind(text)


def _allow_template(value: Any, handler: Any) -> Any:
    if isinstance(value, str) and is_template(value):
        return value
    return handler(value)


# A numeric or boolean field that also accepts a template rendering to the right type, e.g.
# ``"max_concurrency": "{{ n }}"``: the field keeps its plain type and default; a template is
# kept as text until run time, when :func:`resolve_templated` renders and converts it.
TemplatedInt = Annotated[int, WrapValidator(_allow_template)]
TemplatedFloat = Annotated[float, WrapValidator(_allow_template)]
TemplatedBool = Annotated[bool, WrapValidator(_allow_template)]


def resolve_templated(value: Any, kind: type[Any], context: ContextProtocol, field: str) -> Any:
    """Render ``value`` if it is a template and convert it to ``kind`` (int, float or bool).

    Raises ``ValueError`` naming ``field`` when the rendered text does not convert.
    """
    if isinstance(value, str):
        text = render_template(value, context)
        try:
            return _convert(text, kind)
        except ValueError:
            raise ValueError(
                f"{field} must render to {'an' if kind is int else 'a'} {kind.__name__}, "
                f"but {value!r} rendered to {text!r}"
            ) from None
    return value


def describe_validation_error(exc: ValidationError) -> str:
    """One sentence for a pydantic error: each bad field with what is wrong."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            parts.append(f"missing required field {loc!r}")
        else:
            parts.append(f"field {loc!r}: {message}" if loc else message)
    unique = list(dict.fromkeys(parts))
    return "; ".join(unique)


class BaseStep(Generic[ConfigT]):
    """Base of every step. Subclasses implement ``async execute(context)``.

    ``config_model`` is the StepConfig subclass named in ``BaseStep[...]``; ``path_detail`` is
    an optional suffix for this step's segment of error paths (``execute_recipe`` shows the
    sub-recipe it ran).
    """

    config_model: ClassVar[type[StepConfig] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, BaseStep):
                args = get_args(base)
                if args and isinstance(args[0], type) and issubclass(args[0], StepConfig):
                    cls.config_model = args[0]

    def __init__(self, logger: logging.Logger, config: ConfigT | dict[str, Any]) -> None:
        self.logger = logger
        if isinstance(config, dict):
            model = type(self).config_model
            if model is None:
                raise TypeError(f"{type(self).__name__} has no config model: subclass BaseStep[MyConfig]")
            config = model.model_validate(config)  # type: ignore[assignment]
        self.config: ConfigT = config  # type: ignore[assignment]
        self.path_detail = ""

    async def execute(self, context: ContextProtocol) -> None:
        """Run the step against ``context``."""
        raise NotImplementedError

    @classmethod
    def child_steps(cls, config: Any) -> Sequence[tuple[str, Sequence[Any]]]:
        """Nested step lists in a validated config, as ``(field label, steps)`` pairs."""
        return ()

    @classmethod
    def static_recipe_path(cls, config: Any) -> str | None:
        """The sub-recipe this step runs, if its path has no template markup."""
        return None

    @classmethod
    def untemplated_fields(cls) -> frozenset[str]:
        """Config fields whose strings are not Liquid templates (not syntax-checked)."""
        return frozenset()
