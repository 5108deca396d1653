"""The one exception tree of recipe-executor.

Every error the engine raises on purpose derives from :class:`RecipeExecutorError`, and each
class also inherits the builtin that callers of the upstream engine already catch::

    RecipeExecutorError(Exception)
    ├── RecipeError(ValueError)            the recipe itself is wrong; nothing has run
    │   ├── RecipeLoadError(OSError)       file missing, unreadable, not JSON/YAML
    │   └── RecipeValidationError          one or more problems found by validation
    ├── StepError(ValueError, RuntimeError) a step failed while running
    │   ├── TemplateError                  Liquid syntax or render failure
    │   ├── UnsafePathError(PermissionError) a path would leave the folder it must stay in
    │   ├── RecursionLimitError            execute_recipe nested too deep (not a RecursionError)
    │   ├── SubstepsFailedError            parallel/loop children failed
    │   └── StepTimeoutError(TimeoutError) a step ran past its `timeout`
    └── PluginError                        a step plugin could not be loaded or registered

A step error carries breadcrumbs instead of being wrapped at every level: ``path`` is the list
of step segments from the recipe file down to the failing step (``main.json``,
``steps[0] parallel``, ``substeps[1] execute_recipe (sub.json)``, …), and ``reason`` is the
one-sentence description. ``str(error)`` joins them: ``main.json › steps[0] parallel › …: reason``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "PluginError",
    "RecipeError",
    "RecipeExecutorError",
    "RecipeLoadError",
    "RecipeValidationError",
    "RecursionLimitError",
    "StepError",
    "StepTimeoutError",
    "SubstepsFailedError",
    "TemplateError",
    "UnsafePathError",
    "ValidationProblem",
    "format_path",
]

PATH_SEPARATOR = " › "


_MIN_REPEATS = 3
_MAX_PERIOD = 4


def format_path(path: Sequence[str]) -> str:
    """Join step-path segments the way every message shows them.

    A run of segments repeated three or more times (a recipe that calls itself, or two that
    call each other) is written once with a count, so a depth-limit error stays one line:
    ``main.json › steps[0] execute_recipe (main.json) ×64``.
    """
    parts: list[str] = []
    i = 0
    while i < len(path):
        for period in range(1, _MAX_PERIOD + 1):
            block = list(path[i : i + period])
            repeats = 1
            while list(path[i + repeats * period : i + (repeats + 1) * period]) == block:
                repeats += 1
            if len(block) == period and repeats >= _MIN_REPEATS:
                text = PATH_SEPARATOR.join(block)
                parts.append(f"{text} ×{repeats}" if period == 1 else f"({text}) ×{repeats}")
                i += repeats * period
                break
        else:
            parts.append(path[i])
            i += 1
    return PATH_SEPARATOR.join(parts)


class RecipeExecutorError(Exception):
    """Base of every error raised by recipe-executor.

    ``reason`` is the message without location; ``path`` grows at the front as the error
    travels up through nested steps (see :meth:`add_segment`).
    """

    def __init__(self, reason: str, *, path: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = list(path)

    def add_segment(self, segment: str) -> None:
        """Prepend one breadcrumb (the caller's step or recipe file)."""
        self.path.insert(0, segment)

    def __str__(self) -> str:
        if self.path:
            return f"{format_path(self.path)}: {self.reason}"
        return self.reason


class RecipeError(RecipeExecutorError, ValueError):
    """The recipe is wrong (shape, types, unknown steps); raised before anything runs."""


class RecipeLoadError(RecipeError, OSError):
    """A recipe file could not be found, read or parsed."""


class ValidationProblem:
    """One problem found while validating a recipe tree."""

    __slots__ = ("message", "path", "severity")

    def __init__(self, path: Sequence[str], message: str, severity: str = "error") -> None:
        self.path = list(path)
        self.message = message
        self.severity = severity

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}" if self.path else self.message

    def __repr__(self) -> str:
        return f"ValidationProblem({str(self)!r}, severity={self.severity!r})"


class RecipeValidationError(RecipeError):
    """Validation found problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[ValidationProblem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            # One problem: its location becomes the error's step path, so a caller's segments
            # (``execute_recipe (sub.json)``) join it as `` › `` like any other step error.
            super().__init__(self.problems[0].message, path=self.problems[0].path)
            return
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the recipe has {len(self.problems)} problems:\n{lines}")


class StepError(RecipeExecutorError, ValueError, RuntimeError):
    """A step failed while running. The original exception, if any, is ``__cause__``."""


class TemplateError(StepError):
    """A Liquid template could not be parsed or rendered (also undefined names in strict mode)."""


class UnsafePathError(StepError, PermissionError):
    """A path produced by a template, a recipe or an LLM would leave its allowed folder."""


class RecursionLimitError(StepError):
    """``execute_recipe`` nested deeper than the configured limit.

    Not a ``RecursionError``: callers must never mistake the configured depth limit for Python's
    own stack overflow (the issue: "fails with a clear error, never ``RecursionError``").
    """


class StepTimeoutError(StepError, TimeoutError):
    """A step ran longer than its ``timeout``."""


class SubstepsFailedError(StepError):
    """One or more children of a ``parallel`` or ``loop`` step failed.

    ``errors`` holds ``(index, exception)`` pairs for every failure that happened before
    cancellation took effect; the first one is also ``__cause__``.
    """

    def __init__(
        self,
        reason: str,
        *,
        errors: Sequence[tuple[int, BaseException]] = (),
        path: Sequence[str] = (),
    ) -> None:
        super().__init__(reason, path=path)
        self.errors = list(errors)


class PluginError(RecipeExecutorError):
    """A step plugin could not be imported, or registered a name that is already taken.

    Not an ``ImportError``: that builtin's own ``path`` attribute (a file name) would clash with
    the step path every error here carries. The import failure, if any, is ``__cause__``.
    """
