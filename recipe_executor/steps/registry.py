"""The step registry: type name → step class.

``STEP_REGISTRY`` is a plain dict, as upstream, so ``STEP_REGISTRY["name"] = MyStep`` works.
:func:`register_step` is the checked way in: it refuses a name that another class already has.
Plugins come from the entry-point group ``recipe_executor.steps`` and from ``--plugin MODULE``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from ..errors import PluginError

__all__ = [
    "ENTRY_POINT_GROUP",
    "STEP_REGISTRY",
    "load_entry_point_steps",
    "load_plugin",
    "register_step",
    "suggest_step_type",
]

ENTRY_POINT_GROUP = "recipe_executor.steps"

STEP_REGISTRY: dict[str, type[Any]] = {}

S = TypeVar("S", bound=type[Any])


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_step(name: str, cls: type[Any] | None = None) -> Any:
    """Register ``cls`` under ``name``; usable as ``@register_step("name")``.

    Registering the same class twice is a no-op; a different class under a taken name is a
    :class:`PluginError` naming both classes.
    """

    def _register(step_cls: S) -> S:
        existing = STEP_REGISTRY.get(name)
        if existing is not None and existing is not step_cls:
            raise PluginError(
                f"step type {name!r} is already registered to {_qualname(existing)}; "
                f"{_qualname(step_cls)} cannot take it too: choose another name"
            )
        STEP_REGISTRY[name] = step_cls
        return step_cls

    if cls is not None:
        return _register(cls)
    return _register


def suggest_step_type(name: str) -> str:
    """A ``did you mean …?`` hint for an unknown step type, or ``""``."""
    close = difflib.get_close_matches(name, list(STEP_REGISTRY), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


_loaded_entry_points = False


def load_entry_point_steps() -> None:
    """Register the steps that installed packages declare under ``recipe_executor.steps``.

    Each entry point names a step class; its name is the step type.
    """
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party package: report, with its error
            raise PluginError(f"step plugin {ep.name!r} ({ep.value}) failed to import: {exc}") from exc
        register_step(ep.name, cls)


def load_plugin(module: str, importer: Callable[[str], Any] = importlib.import_module) -> None:
    """Import ``module`` so that it registers its steps (``--plugin MODULE``)."""
    try:
        importer(module)
    except PluginError:
        raise
    except Exception as exc:  # the plugin's own import failure is the user's to fix
        raise PluginError(f"plugin module {module!r} could not be imported: {exc}") from exc
