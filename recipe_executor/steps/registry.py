"""The step registry: type name → step class.

``STEP_REGISTRY`` is a plain dict, as upstream, so ``STEP_REGISTRY["name"] = MyStep`` works.
:func:`register_step` is the checked way in: it refuses a name that another class already has.
Plugins come from the entry-point group ``recipe_executor.steps`` and from ``--plugin MODULE``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import types
from collections.abc import Callable, Iterator
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


def load_entry_point_steps(*, reload: bool = False) -> None:
    """Register the steps that installed packages declare under ``recipe_executor.steps``.

    An entry point names either a step class (registered under the entry point's name) or a
    module that registers its steps when imported. Runs once per process unless ``reload``.
    """
    global _loaded_entry_points
    if _loaded_entry_points and not reload:
        return
    _loaded_entry_points = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name!r} ({ep.value})"
        with _no_overwrites(where):
            try:
                target = ep.load()
            except Exception as exc:  # a broken third-party package: report, with its error
                raise PluginError(f"step plugin {where} failed to import: {_one_line(exc)}") from exc
        if isinstance(target, type):
            register_step(ep.name, target)
        elif not isinstance(target, types.ModuleType):
            raise PluginError(
                f"step plugin {where} must name a step class or a module, not {type(target).__name__}"
            )


def load_plugin(module: str, importer: Callable[[str], Any] = importlib.import_module) -> None:
    """Import ``module`` so that it registers its steps (``--plugin MODULE``).

    A plugin that replaces an already registered step (``STEP_REGISTRY[name] = Other``) is
    refused: the registry is restored and the error names both classes.
    """
    with _no_overwrites(f"plugin module {module!r}"):
        try:
            importer(module)
        except PluginError:
            raise
        except Exception as exc:  # the plugin's own import failure is the user's to fix
            raise PluginError(f"plugin module {module!r} could not be imported: {_one_line(exc)}") from exc


@contextlib.contextmanager
def _no_overwrites(who: str) -> Iterator[None]:
    """Fail if the body replaced a registered step class; new names are welcome.

    Replaced entries are put back in any case, so a refused plugin leaves the registry as it was.
    """
    before = dict(STEP_REGISTRY)
    try:
        yield
    finally:
        clashes = [(name, cls, STEP_REGISTRY[name]) for name, cls in before.items()
                   if STEP_REGISTRY.get(name, cls) is not cls]
        for name, cls, _ in clashes:
            STEP_REGISTRY[name] = cls
    if clashes:
        name, cls, now = clashes[0]
        raise PluginError(
            f"{who} registered {_qualname(now)} as step type {name!r}, which is already "
            f"registered to {_qualname(cls)}: choose another name"
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
