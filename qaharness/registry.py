"""One small generic registry for plugins (metrics, generators).

Built-ins register themselves at import; third parties through an entry-point group.
A plugin that fails to load is warned about and skipped; a duplicate id fails at import.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from .errors import UnknownPluginError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Maps stable ids (``family.name``) to plugin classes."""

    def __init__(self, kind: str, *, package: str, entry_point_group: str):
        self.kind = kind
        self._package = package
        self._group = entry_point_group
        self._items: dict[str, T] = {}
        self._discovered = False

    def register(self, item: T) -> T:
        """Register a class under its ``id`` attribute; usable as a decorator."""
        plugin_id = getattr(item, "id", None)
        if not isinstance(plugin_id, str) or not plugin_id:
            raise TypeError(f"{item!r} has no string 'id' to register a {self.kind} under")
        existing = self._items.get(plugin_id)
        if existing is not None and existing is not item:
            same = getattr(existing, "__qualname__", None) == getattr(item, "__qualname__", None) and getattr(
                existing, "__module__", None
            ) == getattr(item, "__module__", None)
            if not same:  # re-import of the same module (reload) is fine
                raise ValueError(f"duplicate {self.kind} id {plugin_id!r}: {existing!r} and {item!r}")
        self._items[plugin_id] = item
        return item

    def get(self, plugin_id: str) -> T:
        self.discover()
        try:
            return self._items[plugin_id]
        except KeyError:
            raise UnknownPluginError(self.kind, plugin_id, self.ids()) from None

    def ids(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self.discover()
        for key in sorted(self._items):
            yield key, self._items[key]

    def __contains__(self, plugin_id: object) -> bool:
        self.discover()
        return plugin_id in self._items

    def discover(self) -> None:
        """Import the built-in package's submodules, then the entry-point group, once."""
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self._package)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self._package}.{info.name}")
        for ep in entry_points(group=self._group):
            _load_entry_point(ep.name, ep.load, self)


def _load_entry_point(name: str, load: Callable[[], object], registry: Registry) -> None:
    try:
        obj = load()
        plugin_id = getattr(obj, "id", None)
        if isinstance(obj, type) and plugin_id and plugin_id not in registry._items:
            registry.register(obj)
    except Exception as exc:  # a broken third-party plugin must not take the tool down
        warnings.warn(
            f"{registry.kind} plugin {name!r} failed to load and is skipped: {exc}", RuntimeWarning, stacklevel=2
        )
