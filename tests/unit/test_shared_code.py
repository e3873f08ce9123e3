"""Workflow modules imported afresh for each case share their compiled code, never their state."""
import importlib.util

import workflows
from workflows import shared_code


def fresh_import(name: str):
    spec = shared_code._SharedCodeFinder().find_spec(name, workflows.__path__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_imports_share_code_objects_and_keep_their_own_globals():
    first, second = fresh_import("workflows.visibility"), fresh_import("workflows.visibility")

    assert first is not second
    assert first.case_search_attributes is not second.case_search_attributes
    assert first.case_search_attributes.__code__ is second.case_search_attributes.__code__
    first.SEARCH_ATTRIBUTES_TEST_MARK = True
    assert not hasattr(second, "SEARCH_ATTRIBUTES_TEST_MARK")


def test_modules_outside_the_workflow_packages_are_left_to_python():
    assert shared_code._SharedCodeFinder().find_spec("domain.schedule", None) is None
