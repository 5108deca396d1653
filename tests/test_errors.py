"""The error tree: step paths, one-problem validation errors, the recursion limit's type."""

from __future__ import annotations

from recipe_executor.errors import (
    RecipeValidationError,
    RecursionLimitError,
    StepError,
    ValidationProblem,
    format_path,
)


def test_step_error_joins_its_path_and_reason() -> None:
    error = StepError("boom", path=["steps[1] write_files"])
    error.add_segment("main.json")
    assert str(error) == "main.json › steps[1] write_files: boom"


def test_one_validation_problem_becomes_the_error_path_so_callers_extend_it() -> None:
    error = RecipeValidationError([ValidationProblem(["steps[1] write_filez"], "unknown step type 'write_filez'")])
    assert error.reason == "unknown step type 'write_filez'"
    error.add_segment("substeps[0] execute_recipe (dyn.json)")
    assert str(error) == "substeps[0] execute_recipe (dyn.json) › steps[1] write_filez: unknown step type 'write_filez'"


def test_several_validation_problems_are_listed_each_with_its_path() -> None:
    error = RecipeValidationError([ValidationProblem(["a.json", "steps[0] x"], "bad"),
                                   ValidationProblem(["a.json", "steps[1] y"], "worse")])
    assert str(error) == "the recipe has 2 problems:\n  - a.json › steps[0] x: bad\n  - a.json › steps[1] y: worse"


def test_recursion_limit_is_a_step_error_not_pythons_recursion_error() -> None:
    error = RecursionLimitError("too deep")
    assert isinstance(error, StepError)
    assert not isinstance(error, RecursionError)


def test_format_path_shortens_repeats() -> None:
    assert format_path(["main.json"] + ["steps[0] execute_recipe (main.json)"] * 5) == (
        "main.json › steps[0] execute_recipe (main.json) ×5"
    )
