"""StepConfig and BaseStep: config models from the generic argument, dict or model configs,
templated numeric/boolean fields, and readable validation messages."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from recipe_executor.context import Context
from recipe_executor.steps.base import (
    BaseStep,
    StepConfig,
    TemplatedBool,
    TemplatedFloat,
    TemplatedInt,
    describe_validation_error,
    resolve_templated,
)

LOG = logging.getLogger("test_base")


class KnobConfig(StepConfig):
    count: TemplatedInt = 1
    ratio: TemplatedFloat = 0.5
    flag: TemplatedBool = False
    name: str = "x"


class KnobStep(BaseStep[KnobConfig]):
    pass


class ChildStep(KnobStep):
    """Inherits its parent's config model."""


def test_config_model_comes_from_the_generic_argument() -> None:
    assert KnobStep.config_model is KnobConfig
    assert ChildStep.config_model is KnobConfig


def test_step_accepts_a_dict_or_a_validated_config() -> None:
    from_dict = KnobStep(LOG, {"count": 3})
    assert from_dict.config.count == 3
    model = KnobConfig(count=4)
    assert KnobStep(LOG, model).config is model
    assert from_dict.logger is LOG


def test_step_config_ignores_unknown_keys_which_validation_reports() -> None:
    assert KnobStep(LOG, {"cuont": 2}).config.count == 1


def test_step_without_a_config_model_says_how_to_declare_one() -> None:
    class Bare(BaseStep):  # type: ignore[type-arg]
        pass

    with pytest.raises(TypeError, match=r"Bare has no config model: subclass BaseStep\[MyConfig\]"):
        Bare(LOG, {})


async def test_execute_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        await KnobStep(LOG, {}).execute(Context())


def test_templated_fields_keep_templates_and_validate_plain_values() -> None:
    config = KnobConfig(count="{{ n }}", ratio="{{ r }}", flag="{{ f }}")  # type: ignore[arg-type]
    assert (config.count, config.ratio, config.flag) == ("{{ n }}", "{{ r }}", "{{ f }}")
    assert KnobConfig(count="7").count == 7  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        KnobConfig(count="seven")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "artifacts", "expected"),
    [
        ("{{ n }}", int, {"n": 3}, 3),
        ("{{ n }}", int, {"n": "4.0"}, 4),
        ("{{ r }}", float, {"r": 0.25}, 0.25),
        ("{{ f }}", bool, {"f": True}, True),
        ("{{ f }}", bool, {"f": "no"}, False),
        ("{{ f }}", bool, {}, False),
        (5, int, {}, 5),
    ],
)
def test_resolve_templated_renders_and_converts(value: object, kind: type, artifacts: dict, expected: object) -> None:
    assert resolve_templated(value, kind, Context(artifacts=artifacts), "field") == expected


@pytest.mark.parametrize(("value", "kind", "rendered"), [("{{ n }}", int, "2.5"), ("{{ n }}", bool, "maybe")])
def test_resolve_templated_names_the_field_and_what_it_rendered(value: str, kind: type, rendered: str) -> None:
    with pytest.raises(ValueError, match=f"knob must render to an? {kind.__name__}, but .* rendered to '{rendered}'"):
        resolve_templated(value, kind, Context(artifacts={"n": rendered}), "knob")


def test_describe_validation_error_is_one_line_per_field() -> None:
    class Needs(StepConfig):
        path: str
        count: int = 0

    with pytest.raises(ValidationError) as caught:
        Needs.model_validate({"count": "many"})
    text = describe_validation_error(caught.value)
    assert text.startswith("missing required field 'path'; field 'count': ")
    assert "\n" not in text
