"""Validation of a whole recipe tree before anything runs.

Every step's type must be registered and its config valid against its model; every template
must parse; nested step lists (``parallel.substeps``, ``loop.substeps``, conditional branches)
and sub-recipes whose path is static are checked recursively. All problems are collected and
reported together. Unknown config keys are warnings (errors with ``strict``), each with a
"did you mean" hint, because real upstream recipes carry such keys and must keep running.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import RecipeLoadError, ValidationProblem
from .loader import LoadedRecipe, canonical_path, load_recipe, resolve_recipe_path
from .models import Recipe, normalize_step
from .steps.base import describe_validation_error
from .steps.registry import STEP_REGISTRY, suggest_step_type
from .steps.runner import step_segment
from .templates import check_template

__all__ = ["validate_recipe"]

_TOP_LEVEL_KEYS = frozenset(Recipe.model_fields)


def validate_recipe(
    loaded: LoadedRecipe,
    *,
    strict: bool = False,
    prefix: Sequence[str] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> list[ValidationProblem]:
    """Every problem in ``loaded`` and the sub-recipes it reaches, errors and warnings.

    ``prefix`` is the step path leading to this recipe (empty for a top-level recipe, whose
    label then starts every path). ``run_config`` is the configuration of the run about to
    start; when given, steps' optional ``validate_for_run(config, run_config)`` hook checks
    what depends on it (``llm_generate``: API keys for a static model), before anything runs.
    """
    validator = _Validator(strict, run_config)
    start = list(prefix) if prefix is not None else [loaded.label]
    if loaded.path is not None:
        validator.seen.add(canonical_path(loaded.path))
    validator.recipe(loaded, start)
    return validator.problems


@functools.cache
def _known_keys(model: type[BaseModel]) -> frozenset[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        if info.alias:
            keys.add(info.alias)
        if isinstance(info.validation_alias, str):
            keys.add(info.validation_alias)
    return frozenset(keys)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):  # keys are rendered too (set_context, context_overrides)
                yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _Validator:
    def __init__(self, strict: bool, run_config: Mapping[str, Any] | None = None) -> None:
        self.strict = strict
        self.run_config = run_config
        self.problems: list[ValidationProblem] = []
        self.seen: set[Path] = set()

    def error(self, path: Sequence[str], message: str) -> None:
        self.problems.append(ValidationProblem(path, message, "error"))

    def warn(self, path: Sequence[str], message: str) -> None:
        self.problems.append(ValidationProblem(path, message, "error" if self.strict else "warning"))

    def recipe(self, loaded: LoadedRecipe, path: list[str]) -> None:
        data = loaded.data
        steps = data.get("steps")
        if not isinstance(steps, list):
            found = type(steps).__name__
            message = "a recipe needs a 'steps' list" if steps is None else f"'steps' must be a list, not {found}"
            self.error(path, message)
            return
        for key in data:
            if key not in _TOP_LEVEL_KEYS:
                self.warn(path, f"unknown top-level key {key!r}{_did_you_mean(key, _TOP_LEVEL_KEYS)}")
        env_vars = data.get("env_vars", [])
        if not isinstance(env_vars, list) or not all(isinstance(v, str) for v in env_vars):
            self.error(path, "'env_vars' must be a list of environment variable names")
        self.steps(steps, path, "steps", loaded.directory)

    def steps(self, steps: Sequence[Any], path: list[str], field: str, recipe_dir: Path | None) -> None:
        if not isinstance(steps, list):
            self.error(path, f"{field!r} must be a list of steps, not {type(steps).__name__}")
            return
        for index, raw in enumerate(steps):
            self.step(raw, path, field, index, recipe_dir)

    def step(self, raw: Any, path: list[str], field: str, index: int, recipe_dir: Path | None) -> None:
        try:
            step_type, config = normalize_step(raw)
        except ValueError as exc:
            self.error([*path, step_segment(field, index, None)], str(exc))
            return
        here = [*path, step_segment(field, index, step_type)]
        cls = STEP_REGISTRY.get(step_type)
        if cls is None:
            self.error(here, f"unknown step type {step_type!r}{suggest_step_type(step_type)}")
            return
        model = getattr(cls, "config_model", None)
        if model is None:
            return  # a custom step without a declared model: it validates itself when built
        known = _known_keys(model)
        for key in config:
            if key not in known:
                self.warn(here, f"unknown config key {key!r}{_did_you_mean(key, known)}")
        try:
            validated = model.model_validate(config)
        except ValidationError as exc:
            self.error(here, f"invalid config: {describe_validation_error(exc)}")
            return
        static_check = getattr(cls, "validate_static", None)  # optional hook, e.g. llm_generate's model id
        for problem in static_check(validated) if callable(static_check) else ():
            self.error(here, problem)
        run_check = getattr(cls, "validate_for_run", None)  # optional hook needing the run's config
        if self.run_config is not None and callable(run_check):
            for problem in run_check(validated, self.run_config):
                self.error(here, problem)
        children = list(cls.child_steps(validated))
        skip = set(cls.untemplated_fields()) | {label.split(".")[0].split("[")[0] for label, _ in children}
        for key, value in config.items():
            if key in skip:
                continue
            for text in _strings(value):
                problem = check_template(text)
                if problem:
                    self.error(here, f"{key}: {problem}")
        for label, child_steps in children:
            self.steps(list(child_steps), here, label, recipe_dir)
        sub_path = cls.static_recipe_path(validated)
        if sub_path:
            self.sub_recipe(sub_path, here, recipe_dir)

    def sub_recipe(self, sub_path: str, here: list[str], recipe_dir: Path | None) -> None:
        resolved = resolve_recipe_path(sub_path, recipe_dir)
        if resolved is None:
            self.error(
                here,
                f"sub-recipe file not found: {sub_path!r} (looked in the working directory and beside "
                "the calling recipe); fix the path or create the file",
            )
            return
        key = canonical_path(resolved)
        if key in self.seen:
            return
        self.seen.add(key)
        try:
            loaded = load_recipe(resolved)
        except RecipeLoadError as exc:
            self.error(here, exc.reason)
            return
        self.recipe(loaded, [*here[:-1], f"{here[-1]} ({sub_path})"])


def _did_you_mean(key: str, known: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
