"""Context: the artifacts and configuration a recipe's steps share.

Clones are copy-on-write, so isolation is total while ``clone()`` never costs the size of the
values. The clone and its parent share one dict until either writes, which copies the dict
(O(number of keys)), never the values. A shared mutable value (list, dict, set, …) is
deep-copied the first time one side reads it through ``ctx[key]`` / ``ctx.get(key)``, because
the reader might mutate it in place; after that the reader owns its copy. Immutable values
(str, numbers, bools, None, bytes) are never copied. Templates read the values without copying
them (see :meth:`Context.template_view`).

One consequence: a mutable value that code outside holds a reference to (it was stored with
``ctx[key] = value`` or read with ``ctx[key]``) is copied once at the next ``clone()``, and
the context keeps the copy. Mutating the old reference afterwards changes neither the clone
nor the parent; read the key again to get the live value. This is what lets every later clone
share the value for free, and no built-in step holds a reference across a clone.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

__all__ = ["Context", "deep_copy"]

_IMMUTABLE = (str, int, float, bool, type(None), bytes, complex)


def deep_copy(value: Any) -> Any:
    """Deep-copy a value; JSON-shaped data takes a fast path, anything else ``copy.deepcopy``."""
    cls = type(value)
    if cls in _IMMUTABLE_TYPES:
        return value
    if cls is dict:
        return {k: deep_copy(v) for k, v in value.items()}
    if cls is list:
        return [deep_copy(v) for v in value]
    return copy.deepcopy(value)


_IMMUTABLE_TYPES = frozenset(_IMMUTABLE)


def _is_immutable(value: Any) -> bool:
    return type(value) in _IMMUTABLE_TYPES


class _Store:
    """One copy-on-write dict: ``data`` may be shared with other stores until written.

    ``owned`` keys hold mutable values that belong to this store alone, so it may hand them out
    without copying; ``exposed`` (a subset) are those whose objects have been handed out or
    were given to it, so code outside may still hold and mutate them.
    """

    __slots__ = ("data", "exposed", "owned", "shared")

    def __init__(self, data: dict[str, Any], shared: bool) -> None:
        self.data = data
        self.shared = shared
        self.owned: set[str] = set() if shared else set(data)
        self.exposed: set[str] = set()

    def fork(self) -> _Store:
        """A store sharing this one's dict and values; afterwards neither owns any value.

        An exposed value might still be mutated through a reference taken before the fork, so
        it is replaced by a copy first (once: after that it is no longer exposed).
        """
        if self.exposed:
            data = self.writable()
            for key in self.exposed:
                data[key] = deep_copy(data[key])
            self.exposed = set()
        self.shared = True
        self.owned = set()
        return _Store(self.data, shared=True)

    def writable(self) -> dict[str, Any]:
        if self.shared:
            self.data = dict(self.data)
            self.shared = False
        return self.data

    def read(self, key: str) -> Any:
        value = self.data[key]
        if _is_immutable(value):
            return value
        if key not in self.owned:
            value = deep_copy(value)
            self.writable()[key] = value
            self.owned.add(key)
        self.exposed.add(key)
        return value

    def set(self, key: str, value: Any) -> None:
        self.writable()[key] = value
        self.owned.add(key)
        if _is_immutable(value):
            self.exposed.discard(key)
        else:
            self.exposed.add(key)

    def delete(self, key: str) -> None:
        del self.writable()[key]
        self.owned.discard(key)
        self.exposed.discard(key)


# The classes below have a method named ``dict``, which hides the builtin in their bodies.
_Dict: TypeAlias = dict


class Context:
    """Artifacts (a dict-like store steps read and write) plus a separate config store.

    ``artifacts`` and ``config`` given to the constructor are deep-copied, as upstream does,
    so the caller's objects are never mutated by a run.
    """

    __slots__ = ("_artifacts", "_config")

    def __init__(
        self,
        artifacts: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self._artifacts = _Store(deep_copy(dict(artifacts or {})), shared=False)
        self._config = _Store(deep_copy(dict(config or {})), shared=False)

    # -- artifacts: mapping API -------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        try:
            return self._artifacts.read(key)
        except KeyError:
            raise KeyError(f"Key {key!r} not found in Context.") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._artifacts.set(key, value)

    def __delitem__(self, key: str) -> None:
        try:
            self._artifacts.delete(key)
        except KeyError:
            raise KeyError(f"Key {key!r} not found in Context.") from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._artifacts.data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._artifacts.data))

    def __len__(self) -> int:
        return len(self._artifacts.data)

    def __repr__(self) -> str:
        return f"Context(keys={list(self._artifacts.data)!r})"

    def get(self, key: str, default: Any = None) -> Any:
        """The value at ``key`` (a private copy if it is mutable and shared), else ``default``."""
        if key in self._artifacts.data:
            return self._artifacts.read(key)
        return default

    def keys(self) -> Iterator[str]:
        """A snapshot of the artifact keys."""
        return iter(list(self._artifacts.data))

    def clone(self) -> Context:
        """An isolated copy in O(1); see the module docstring for how isolation is kept."""
        twin = Context.__new__(Context)
        twin._artifacts = self._artifacts.fork()
        twin._config = self._config.fork()
        return twin

    def dict(self) -> _Dict[str, Any]:
        """A deep copy of the artifacts."""
        copied: _Dict[str, Any] = deep_copy(self._artifacts.data)
        return copied

    def json(self) -> str:
        """The artifacts as JSON; objects that are not JSON become strings."""
        return json.dumps(self._artifacts.data, default=_json_default)

    def template_view(self) -> Mapping[str, Any]:
        """The artifacts for read-only use by templates: no copy is made.

        Callers must not mutate what they get; templates never do.
        """
        return self._artifacts.data

    # -- config -----------------------------------------------------------------------
    def get_config(self) -> _Dict[str, Any]:
        """A deep copy of the configuration."""
        copied: _Dict[str, Any] = deep_copy(self._config.data)
        return copied

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Replace the configuration with a deep copy of ``config``."""
        self._config = _Store(deep_copy(dict(config)), shared=False)

    def config_value(self, key: str, default: Any = None) -> Any:
        """One configuration value without copying the whole store."""
        if key in self._config.data:
            return self._config.read(key)
        return default


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
