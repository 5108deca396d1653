"""Recipe models: both step shapes normalised, mixed shapes and malformed steps refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from recipe_executor.models import Recipe, RecipeStep, normalize_step


def test_normalize_step_accepts_upstream_and_inline_shapes() -> None:
    assert normalize_step({"type": "a", "config": {"x": 1}}) == ("a", {"x": 1})
    assert normalize_step({"type": "a", "x": 1}) == ("a", {"x": 1})
    assert normalize_step({"type": "a"}) == ("a", {})
    assert normalize_step({"type": "a", "config": None}) == ("a", {})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "a", "config": {}, "x": 1, "y": 2}, "step 'a' mixes both shapes: move x, y into 'config'"),
        ({"type": "a", "config": [1]}, "step 'a' has a 'config' that is not an object"),
        ({"config": {}}, "a step needs a non-empty string 'type'"),
        ({"type": ""}, "a step needs a non-empty string 'type'"),
        ("read_files", "a step must be an object with a 'type', got str"),
    ],
)
def test_normalize_step_refuses_malformed_steps(raw: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalize_step(raw)
    assert str(caught.value).startswith(message)


def test_recipe_model_normalises_steps_and_keeps_extra_fields() -> None:
    recipe = Recipe.model_validate({"steps": [{"type": "a", "x": 1}], "name": "n", "custom": True})
    assert recipe.steps == [RecipeStep(type="a", config={"x": 1})]
    assert recipe.name == "n"
    assert recipe.model_extra == {"custom": True}
    assert recipe.env_vars == []


def test_recipe_model_rejects_mixed_shapes() -> None:
    with pytest.raises(ValidationError, match="mixes both shapes"):
        Recipe.model_validate({"steps": [{"type": "a", "x": 1, "config": {}}]})


async def test_upstream_file_spec_objects_are_written_by_write_files(tmp_path: Path) -> None:
    from recipe_executor import Context
    from recipe_executor.models import FileSpec
    from recipe_executor.steps.write_files import WriteFilesStep

    files = [FileSpec(path="a.txt", content="A"), FileSpec(path="b.json", content={"k": 1})]
    context = Context(artifacts={"files": files})
    await WriteFilesStep(logging.getLogger("t"), {"files_key": "files", "root": str(tmp_path)}).execute(context)
    assert (tmp_path / "a.txt").read_text() == "A"
    assert json.loads((tmp_path / "b.json").read_text()) == {"k": 1}
