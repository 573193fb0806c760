"""The lazy public-name loader of the package and its subpackages (PEP 562 ``__getattr__``/``__dir__``).

A package lists ``public name -> module`` and gets the two functions::

    __getattr__, __dir__ = lazy_names(__name__, {"fuse": "mffssim.fusion"}, extra=["__version__"])

A name's module is imported the first time the name is used, and the value is cached in the package's
namespace, so ``import mffssim`` stays cheap (torch only comes with the engine).
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Iterable, Mapping


def lazy_names(package: str, names: Mapping[str, str], *, extra: Iterable[str] = ()
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that load ``names`` (name -> module, absolute or
    relative to ``package``) on first use; ``__dir__`` lists them with ``extra`` (names defined eagerly)."""
    public = sorted(set(names) | set(extra))

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__
