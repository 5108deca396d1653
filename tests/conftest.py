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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        func = getattr(item, "function", None)
        if func is not None and inspect.iscoroutinefunction(func):
            item.add_marker(pytest.mark.anyio)


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
