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


def test_the_case_module_the_worker_shares_holds_no_state_cases_could_share():
    """The worker imports `workflows.invoice_case` once for every case (worker.SHARED_WORKFLOW_MODULES): it must
    keep its state on the case, never in a module-level list, dict or set that two cases would both see."""
    import types

    import worker
    from workflows import invoice_case

    assert "workflows.invoice_case" in worker.RUNNER.restrictions.passthrough_modules
    import __future__
    import sys

    immutable = (str, int, float, bool, tuple, frozenset, bytes, type(None), type, types.FunctionType,
                 types.ModuleType, types.BuiltinFunctionType, types.UnionType, __future__._Feature)
    # what it imports from the passed-through modules (contracts, domain) is shared under any runner
    elsewhere = {id(v) for m in list(sys.modules.values()) if m is not invoice_case for v in vars(m).values()}
    shared = {name: type(value).__name__ for name, value in vars(invoice_case).items()
              if not name.startswith("__") and not isinstance(value, immutable) and id(value) not in elsewhere}
    assert shared == {}, f"module-level state in the shared case module: {shared}"
