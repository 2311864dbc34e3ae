# SPDX-License-Identifier: MIT
# common.py: checks and setups that cases of several groups name in tests/cases.cfg.
import re
import shutil
import subprocess
from pathlib import Path

from runner.registry import check, setup


@setup('fresh-dir')
def fresh_dir(ctx, path):
    """An output directory of the case's program, emptied first so that
    nothing an earlier run left can pass for its output."""
    shutil.rmtree(path, ignore_errors=True)


@setup('peer-tools')
def peer_tools(ctx):
    """The Linux peer's build tools (installed as root); without them its
    tests cannot run at all."""
    if subprocess.run([str(ctx.top / 'tools' / 'deps.sh'), 'peer']).returncode:
        ctx.fail('tools/deps.sh peer: the peer\'s build tools are missing')


@check('count')
def count(ctx, path, regex, least, most=None):
    """FILE has at least LEAST (and at most MOST) lines matching REGEX."""
    n = sum(1 for l in ctx.text(path).splitlines() if re.search(regex, l))
    if n < int(least) or (most is not None and n > int(most)):
        want = f'{least}' if most is None else f'{least}..{most}'
        return f'{n} lines of {path} match /{regex}/, expected {want}'
    return None


@check('locktorture-rates')
def locktorture_rates(ctx, test):
    """tests/locktorture_rates.py: the long holds and short delays of TEST's
    results at locktorture's rates (its own messages on failure)."""
    out = subprocess.run([str(ctx.top / 'tests' / 'locktorture_rates.py'), str(ctx.log), test],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith('#'):
            ctx.note(line)
    if out.returncode:
        detail = (out.stdout + out.stderr).strip().splitlines()[-3:]
        return "delays not at locktorture's rates: " + ' '.join(detail)
    return None


def pvh_line_re():
    return r'^# boot: pvh start_info v1 loader="qemu" rsdp=0x[0-9a-f]+ \(used\) cmdline="'


@check('pvh-boot-line')
def pvh_boot_line(ctx):
    """The PVH entry's boot line (docs/output.md)."""
    ctx.grep(pvh_line_re())


def log_path(ctx, name):
    return Path(ctx.logs) / f'{name}.log'
