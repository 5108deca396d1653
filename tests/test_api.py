"""The public API is pinned: a sorted ``__all__``, the seed's imports, and custom steps written
for upstream (``super().__init__(logger, EchoConfig(**config))``) working unchanged."""

from __future__ import annotations

import logging
from typing import Any

import recipe_executor
from recipe_executor import Context, Executor
from recipe_executor.protocols import ContextProtocol, ExecutorProtocol, StepProtocol
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.parallel import ParallelConfig, ParallelStep
from recipe_executor.steps.registry import STEP_REGISTRY


def test_public_api_is_pinned_and_sorted() -> None:
    assert recipe_executor.__all__ == [
        "STEP_REGISTRY",
        "BaseStep",
        "Context",
        "Executor",
        "Recipe",
        "RecipeError",
        "RecipeExecutorError",
        "RecipeLoadError",
        "RecipeStep",
        "RecipeValidationError",
        "RunOptions",
        "StepConfig",
        "StepError",
        "register_step",
    ]
    assert recipe_executor.__all__ == sorted(recipe_executor.__all__, key=lambda n: (not n.isupper(), n))
    for name in recipe_executor.__all__:
        assert getattr(recipe_executor, name) is not None


def test_seed_parallel_imports_and_registration() -> None:
    STEP_REGISTRY["parallel"] = ParallelStep
    assert issubclass(ParallelConfig, StepConfig)
    fields = ParallelConfig.model_fields
    assert fields["substeps"].is_required()
    assert fields["max_concurrency"].default == 0
    assert fields["delay"].default == 0


def test_importing_the_package_registers_the_built_in_steps() -> None:
    assert {"parallel", "execute_recipe", "set_context", "read_files", "write_files"} <= set(STEP_REGISTRY)


class EchoConfig(StepConfig):
    message: str
    output_key: str = "echo"


class EchoStep(BaseStep[EchoConfig]):
    """Written exactly as upstream's docs show a custom step."""

    def __init__(self, logger: logging.Logger, config: dict[str, Any]) -> None:
        super().__init__(logger, EchoConfig(**config))

    async def execute(self, context: ContextProtocol) -> None:
        context[self.config.output_key] = self.config.message.upper()


async def test_custom_upstream_style_step_registers_and_runs(registry: dict[str, type]) -> None:
    STEP_REGISTRY["echo"] = EchoStep
    ctx = Context(artifacts={"who": "world"})
    recipe = {
        "steps": [
            {"type": "echo", "config": {"message": "hello"}},
            {"type": "echo", "message": "inline", "output_key": "second"},
        ]
    }
    await Executor(logging.getLogger("t")).execute(recipe, ctx)
    assert ctx["echo"] == "HELLO"
    assert ctx["second"] == "INLINE"
    assert EchoStep.config_model is EchoConfig
    assert isinstance(EchoStep(logging.getLogger("t"), {"message": "m"}), StepProtocol)


def test_protocols_describe_the_real_classes() -> None:
    assert isinstance(Context(), ContextProtocol)
    assert isinstance(Executor(logging.getLogger("t")), ExecutorProtocol)
