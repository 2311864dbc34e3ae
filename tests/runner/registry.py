# SPDX-License-Identifier: MIT
# registry.py: the names tests/cases.cfg uses for what a table cannot say (tests/cases/*.py register them).
"""A group module under tests/cases/ registers its functions by the name
the cases file gives them:

    @case('random-nesting')       def f(ctx): ...        the whole case
    @check('whole-report')        def f(ctx, *args): ... a check: None, or what is wrong
    @retry('below-guest')         def f(ctx): ...        a reason to run a failed case once more, or None
    @setup('hpet-short-table')    def f(ctx): ...        before the case runs

A case function ends by returning (a pass), by ctx.fail(why) or ctx.skip(why).
"""

KINDS = ('case', 'check', 'retry', 'setup')
TABLE = {kind: {} for kind in KINDS}


def _register(kind, name):
    def wrap(fn):
        if name in TABLE[kind]:
            raise ValueError(f'{kind} {name!r} registered twice '
                             f'({TABLE[kind][name].__module__}, {fn.__module__})')
        TABLE[kind][name] = fn
        return fn
    return wrap


def case(name):
    return _register('case', name)


def check(name):
    return _register('check', name)


def retry(name):
    return _register('retry', name)


def setup(name):
    return _register('setup', name)


def lookup(kind, name):
    """The function, or None."""
    return TABLE[kind].get(name)
