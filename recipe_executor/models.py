"""Pydantic models of recipes. Both step shapes are normalised on load.

A step is either ``{"type": NAME, "config": {...}}`` (upstream's shape) or
``{"type": NAME, field: value, ...}`` (the inline shape of the seed). A step that mixes both is
rejected.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FileSpec", "Recipe", "RecipeStep", "normalize_step"]


def normalize_step(raw: object) -> tuple[str, dict[str, Any]]:
    """``(type, config)`` of a raw step object in either shape.

    Raises ``ValueError`` with one sentence saying what is wrong with the step object.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"a step must be an object with a 'type', got {type(raw).__name__} {raw!r:.60}")
    step_type = raw.get("type")
    if not isinstance(step_type, str) or not step_type:
        raise ValueError(f"a step needs a non-empty string 'type', got {raw!r:.80}")
    inline = {k: v for k, v in raw.items() if k not in ("type", "config")}
    if "config" in raw:
        if inline:
            names = ", ".join(sorted(inline))
            raise ValueError(
                f"step {step_type!r} mixes both shapes: move {names} into 'config' or drop 'config'"
            )
        config = raw["config"]
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ValueError(f"step {step_type!r} has a 'config' that is not an object: {config!r:.60}")
        return step_type, config
    return step_type, inline


class FileSpec(BaseModel):
    """One file to write, as upstream's ``models.FileSpec``: a relative ``path`` and its
    ``content`` (text, an object or a list of objects). Custom steps written for upstream build
    these and store them for ``write_files`` (``files_key``), which writes them unchanged."""

    path: str
    content: str | dict[str, Any] | list[dict[str, Any]]


class RecipeStep(BaseModel):
    """One step: its registry ``type`` and its ``config`` fields."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, RecipeStep):
            return data
        step_type, config = normalize_step(data)
        return {"type": step_type, "config": config}


class Recipe(BaseModel):
    """A recipe: ordered ``steps`` plus documentation-only fields.

    ``env_vars`` lists environment variables the CLI copies into the config (lower-cased keys).
    Other top-level keys are kept and reported as warnings by validation.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    steps: list[RecipeStep]
    name: str | None = None
    description: str | None = None
    inputs: Any = None
    outputs: Any = None
    env_vars: list[str] = Field(default_factory=list)
