# SPDX-License-Identifier: MIT
# tests/cases: one module per group of tests/cases.cfg, for what its table cannot say.
"""Importing this package imports every tests/cases/*.py, which register
their functions by name (tests/runner/registry.py). A module that does not
import is recorded in LOAD_ERRORS, which the runner counts as failures:
its cases then fail for want of their functions, never vanish."""
import importlib
import pkgutil
import traceback

LOAD_ERRORS = []

for _mod in pkgutil.iter_modules(__path__):
    try:
        importlib.import_module(f'{__name__}.{_mod.name}')
    except Exception:   # any error in a group module is reported, the others still load
        LOAD_ERRORS.append(f'tests/cases/{_mod.name}.py does not load: '
                           + traceback.format_exc().strip().splitlines()[-1])
