"""Every model a workflow decodes is complete when its module is imported: the workflow sandbox cannot resolve
a forward reference later (a case start naming a class defined further down failed every case's first task)."""
import importlib
import pkgutil

import pydantic
import pytest

import domain

MODULES = [f"domain.{m.name}" for m in pkgutil.iter_modules(domain.__path__)] + ["activities.contracts"]


@pytest.mark.parametrize("name", MODULES)
def test_models_are_complete_at_import(name):
    module = importlib.import_module(name)
    incomplete = [n for n, o in vars(module).items() if isinstance(o, type) and issubclass(o, pydantic.BaseModel)
                  and o.__module__ == name and not o.__pydantic_complete__]
    assert not incomplete, f"{name}: {incomplete} refer to classes defined later in the module"
