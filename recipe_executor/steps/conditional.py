"""``conditional``: run the ``if_true`` or ``if_false`` branch depending on a condition.

``condition`` is a JSON boolean, used as is, or a string that is rendered and then evaluated by
the safe condition language of :mod:`recipe_executor.conditions` (never Python ``eval``). A
condition that is exactly one ``{{ expression }}`` uses the expression's value: a boolean,
number, list or object counts by its truth, ``None`` (undefined) is false, and a string is
evaluated as a condition (so ``"true"`` / ``"False"`` work as upstream recipes expect).
Branch steps run in order on the same context. Every branch step is validated with the whole
recipe before anything runs; a malformed one is an error, never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..conditions import check_condition, evaluate_condition, is_truthy
from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import is_template, render_structured
from .base import BaseStep, StepConfig
from .registry import register_step
from .runner import run_steps

__all__ = ["Branch", "ConditionalConfig", "ConditionalStep"]


class Branch(BaseModel):
    """One branch: ``{"steps": [...]}``; an empty list or ``{}`` runs nothing.

    A branch with keys but no ``steps`` (``{"stepz": [...]}``) is an error rather than a branch
    that silently runs nothing.
    """

    model_config = ConfigDict(extra="ignore")

    steps: list[Any] = []

    @model_validator(mode="before")
    @classmethod
    def _has_steps(cls, value: Any) -> Any:
        if isinstance(value, dict) and value and "steps" not in value:
            keys = ", ".join(repr(k) for k in value)
            raise ValueError(f'a branch is {{"steps": [...]}}, but this one has only {keys}; name its list "steps"')
        return value


class ConditionalConfig(StepConfig):
    """Config for ConditionalStep.

    Fields:
        condition: a boolean, or a string rendered then evaluated (numbers are taken as text).
        if_true: the branch run when the condition holds; None runs nothing.
        if_false: the branch run otherwise; None runs nothing.
    """

    condition: bool | str | int | float
    if_true: Branch | None = None
    if_false: Branch | None = None

    @field_validator("condition")
    @classmethod
    def _static_condition_parses(cls, value: Any) -> Any:
        # A condition without template markup can be checked before anything runs.
        if isinstance(value, str) and not is_template(value):
            problem = check_condition(value.strip())
            if problem:
                raise ValueError(problem)
        return value


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return evaluate_condition(value.strip())
    return is_truthy(value)


@register_step("conditional")
class ConditionalStep(BaseStep[ConditionalConfig]):
    """Evaluates ``condition`` and runs one branch; see the module docstring."""


    @classmethod
    def child_steps(cls, config: ConditionalConfig) -> Sequence[tuple[str, Sequence[Any]]]:
        branches = []
        if config.if_true is not None:
            branches.append(("if_true.steps", config.if_true.steps))
        if config.if_false is not None:
            branches.append(("if_false.steps", config.if_false.steps))
        return branches

    def evaluate(self, context: ContextProtocol) -> bool:
        """The condition's truth in ``context``."""
        condition = self.config.condition
        if isinstance(condition, bool):
            return condition
        if isinstance(condition, (int, float)):
            return is_truthy(condition)
        value = render_structured(condition, context)
        try:
            return _truth(value)
        except StepError as exc:
            if value != condition and isinstance(value, str):
                exc.reason = f"{exc.reason} (rendered from {condition!r})"
                exc.args = (exc.reason,)
            raise

    async def execute(self, context: ContextProtocol) -> None:
        result = self.evaluate(context)
        branch = self.config.if_true if result else self.config.if_false
        label = "if_true" if result else "if_false"
        self.logger.debug("Condition is %s; running %s", result, label)
        if branch is not None and branch.steps:
            await run_steps(branch.steps, context, logger=self.logger, field=f"{label}.steps")
