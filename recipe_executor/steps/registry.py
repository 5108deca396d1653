"""The step registry: type name → step class.

``STEP_REGISTRY`` is a dict, as upstream, so ``STEP_REGISTRY["name"] = MyStep`` works. The
built-in steps are registered lazily: each name is known from the start, and its module is
imported the first time the name is looked up (or the registry is listed), so a recipe that
uses two step types does not pay for importing the other nine.
:func:`register_step` is the checked way in: it refuses a name that another class already has.
Plugins come from the entry-point group ``recipe_executor.steps`` and from ``--plugin MODULE``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..errors import PluginError

__all__ = [
    "ENTRY_POINT_GROUP",
    "STEP_REGISTRY",
    "StepRegistry",
    "load_entry_point_steps",
    "load_plugin",
    "register_step",
    "suggest_step_type",
]

ENTRY_POINT_GROUP = "recipe_executor.steps"

class StepRegistry(dict[str, type[Any]]):
    """A dict of step classes whose built-in entries are imported on first lookup.

    Every dict operation behaves as if all entries were loaded: single lookups load one module,
    listing operations (iteration, ``keys()``, ``items()``, ``len()``, copying) load them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lazy: dict[str, str] = {}

    def add_lazy(self, name: str, module: str) -> None:
        """Declare that importing ``module`` registers the step ``name``."""
        if not dict.__contains__(self, name):
            self._lazy[name] = module

    def names(self) -> list[str]:
        """Every registered name, without importing anything."""
        return [*dict.keys(self), *(n for n in self._lazy if not dict.__contains__(self, n))]

    def _load(self, name: str) -> None:
        module = self._lazy.pop(name, None)
        if module is not None and not dict.__contains__(self, name):
            importlib.import_module(module)

    def _load_all(self) -> None:
        for name in list(self._lazy):
            self._load(name)

    def __getitem__(self, name: str) -> type[Any]:
        if name in self._lazy:
            self._load(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._lazy:
            self._load(name)
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._lazy

    def __setitem__(self, name: str, cls: type[Any]) -> None:
        self._lazy.pop(name, None)
        dict.__setitem__(self, name, cls)

    def __delitem__(self, name: str) -> None:
        if self._lazy.pop(name, None) is not None and not dict.__contains__(self, name):
            return
        dict.__delitem__(self, name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        self._load_all()
        return dict.__repr__(self)

    def __eq__(self, other: object) -> bool:
        self._load_all()
        return dict.__eq__(self, other)

    __hash__ = None

    def keys(self) -> Any:
        self._load_all()
        return dict.keys(self)

    def values(self) -> Any:
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        self._load_all()
        return dict.items(self)

    def copy(self) -> dict[str, type[Any]]:
        self._load_all()
        return dict(dict.items(self))

    def pop(self, name: str, *default: Any) -> Any:
        if name in self._lazy:
            self._load(name)
        return dict.pop(self, name, *default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name in self._lazy:
            self._load(name)
        return dict.setdefault(self, name, default)

    def popitem(self) -> tuple[str, type[Any]]:
        self._load_all()
        return dict.popitem(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, cls in dict(*args, **kwargs).items():
            self[name] = cls

    def clear(self) -> None:
        self._lazy.clear()
        dict.clear(self)


STEP_REGISTRY: StepRegistry = StepRegistry()

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
    close = difflib.get_close_matches(name, STEP_REGISTRY.names(), n=1, cutoff=0.6)
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
    if not _group_may_be_declared():
        return
    from importlib.metadata import entry_points

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


def _group_may_be_declared() -> bool:
    """Whether any installed distribution might declare our entry-point group.

    A cheap scan of ``*.dist-info/entry_points.txt`` on ``sys.path``, so that the common case
    (no plugins) does not pay for importing ``importlib.metadata``. Anything it cannot scan
    (a zip archive on the path) answers "maybe".
    """
    needle = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.isfile(folder):
                return True  # a zip on sys.path: let importlib.metadata look inside
            continue
        try:
            with os.scandir(folder) as entries:
                names = [e.path for e in entries if e.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            continue
        for meta in names:
            try:
                with open(os.path.join(meta, "entry_points.txt"), encoding="utf-8") as handle:
                    if needle in handle.read():
                        return True
            except OSError:
                continue
    return False


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
