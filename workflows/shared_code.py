"""Compile the workflow modules once per worker, not once per case.

The sandbox imports a workflow's module afresh for every case it runs, so that cases never share module
state. Each import reads the module's bytecode and unmarshals new code objects: for `invoice_case` about
110 KB per cached case and a measurable share of the worker's CPU (`make bench`). Code objects are immutable,
so sharing them keeps the isolation: each case still executes the module into its own globals, with its own
functions and classes, under the sandbox's restrictions.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

SHARED_PACKAGES = ("workflows",)


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    _codes: dict[tuple[str, float], types.CodeType] = {}

    def get_code(self, fullname: str) -> types.CodeType:
        key = (self.path, self.path_stats(self.path)["mtime"])  # an edited file is compiled again
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = super().get_code(fullname)
        return code


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path, target=None):
        if fullname.partition(".")[0] not in SHARED_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _SharedCodeLoader(spec.loader.name, spec.loader.path)
        return spec


def install() -> None:
    """Idempotent; call before the worker starts."""
    if not any(isinstance(finder, _SharedCodeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SharedCodeFinder())
