# SPDX-License-Identifier: MIT
# vmm.py: what tests/cases.cfg's vmm group cannot say as a table: QEMU run by hand, cases of two runs, the poweroff lines.
import shlex
import subprocess

from cases.common import pvh_line_re
from runner.registry import case, check

POWEROFF_PM1_RE = r'^# poweroff: acpi PM1a control io 0x[0-9a-f]+ SLP_TYP=0 \(\\_S5\), SLP_EN'
POWEROFF_SLEEP_CTL_RE = (r'^# poweroff: acpi sleep control register \(hardware-reduced\) mem '
                         r'0x[0-9a-f]+ <- 0x34 \(SLP_TYP=5 from \\_S5, SLP_EN\)')


@check('poweroff-pm1')
def poweroff_pm1(ctx):
    """The ACPI power-off through PM1a (q35, pc)."""
    ctx.grep(POWEROFF_PM1_RE)


@check('poweroff-sleep-control')
def poweroff_sleep_control(ctx):
    """The ACPI power-off through the hardware-reduced sleep control register (microvm)."""
    ctx.grep(POWEROFF_SLEEP_CTL_RE)


@case('pvh-seabios')
def pvh_seabios(ctx):
    """Through SeaBIOS (pc) the PVH entry takes the guest's command line
    from start_info; a bad option there is still status 2."""
    ctx.run_qemu(['--boot', 'pvh', '--machine', 'pc', '--firmware', 'seabios', '--smp', '2'],
                 ['test=smp', 'seed=7'], logname='pvh-seabios')
    ctx.expect_status(0)
    ctx.grep(pvh_line_re() + 'test=smp seed=7"')
    ctx.grep('^# pvspin: test=smp seed=7 ')
    ctx.run_qemu(['--boot', 'pvh', '--smp', '1'], ['test=smp', 'frobnicate=1'], logname='pvh-badopt')
    ctx.expect_status(2)
    ctx.grep("^not ok 1 cmdline # bad option 'frobnicate=1'")


@case('no-acpi-fallback')
def no_acpi_fallback(ctx, machine, has, lacks=None):
    """QEMU run by hand (run-qemu.sh refuses --exit acpi without ACPI) with
    acpi=off and no isa-debug-exit: the guest says there is no FADT and
    falls back to a reset; QEMU still ends (-no-reboot) with status 0."""
    dry = subprocess.run([str(ctx.top / 'run-qemu.sh'), '--exit', 'acpi', '--machine', machine,
                          '--smp', '1', '--timeout', '60', '--dry-run', '--', 'test=smp'],
                         capture_output=True, text=True)
    ctx.require(dry.returncode == 0 and dry.stdout.strip(),
                f'run-qemu.sh --dry-run: status {dry.returncode}: {dry.stderr[-200:]}')
    argv = shlex.split(dry.stdout.strip()) + ['-machine', 'acpi=off']
    ctx.run(argv, logname=f'no-acpi-{machine}', timeout=120)
    ctx.require(ctx.status == 0, f'QEMU exited {ctx.status}, expected 0 (log: {ctx.log})')
    ctx.grep('^EXIT: STATUS=0')
    ctx.grep(r'^# poweroff: no ACPI FADT \(no RSDP\)')
    ctx.grep(r'^# poweroff: reset through the keyboard controller \(port 0x64, 0xfe\)')
    ctx.grep(has)
    if lacks:
        ctx.nogrep(lacks)


@case('boot-exit-values')
def boot_exit_values(ctx):
    """run-qemu.sh checks --boot's and --exit's values: status 2 naming what it accepts."""
    ctx.run_qemu(['--boot', 'uefi'], logname='bad-boot-value')
    ctx.expect_status(2)
    ctx.grep("--boot 'uefi': accepted: multiboot, pvh, iso")
    ctx.run_qemu(['--exit', 'poweroff'], logname='bad-exit-value')
    ctx.expect_status(2)
    ctx.grep("--exit 'poweroff': accepted: debug-exit, acpi")
