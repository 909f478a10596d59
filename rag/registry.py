"""Backends by name, one small registry per kind (LLM, embedder, store), the way simonw/llm
registers models: ``build_*`` looks the configured name up, and a plugin, or a test's fake,
adds itself with :meth:`Registry.register`."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from .errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, setting: str) -> None:
        self.kind = kind
        self.setting = setting
        """The environment variable that names the backend, for error messages."""
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def register(self, name: str, factory: T | None = None):
        """Add (or replace) ``name``: ``register("x", f)``, or ``@register("x")`` on ``f``."""
        if factory is None:
            return lambda f: self.register(name, f)
        with self._lock:
            self._items[name] = factory
        return factory

    def get(self, name: str) -> T:
        with self._lock:
            if name in self._items:
                return self._items[name]
            known = ", ".join(sorted(self._items))
        raise InputError(f"{self.kind} must be one of {known}, not {name!r} ({self.setting})")

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._items
