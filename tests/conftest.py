"""Shared fixtures: anyio on asyncio for async tests, a registry that is restored after each
test, and paths to the compatibility corpus."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from recipe_executor.steps.registry import STEP_REGISTRY

REPO = Path(__file__).resolve().parent.parent
COMPAT = REPO.parent / "shared" / "compat" / "recipe-tool"


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every ``async def test_*`` under anyio (marked before parametrisation happens)."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def registry() -> Iterator[dict[str, type]]:
    """The step registry, restored to its original content after the test."""
    saved = dict(STEP_REGISTRY)
    yield STEP_REGISTRY
    STEP_REGISTRY.clear()
    STEP_REGISTRY.update(saved)


@pytest.fixture
def logger() -> logging.Logger:
    return logging.getLogger("recipe_executor.tests")


@pytest.fixture
def compat_dir() -> Path:
    """The upstream recipe corpus (shared/compat/recipe-tool beside the checkout)."""
    if not COMPAT.is_dir():
        pytest.skip(f"compatibility corpus not found at {COMPAT}")
    return COMPAT
