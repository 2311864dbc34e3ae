# SPDX-License-Identifier: MIT
# boot.py: what tests/cases.cfg's boot group cannot say as a table: boot phases, bench-boot's files, the nested retry rule.
import importlib.util
import json
import re
import shutil
from pathlib import Path

from pvspin.floors import UNIT_NAMES, UNITS
from pvspin.runner import L1_PREFIX, nested_statuses, split_nested, status_line
from pvspin.stats import TOO_FEW
from runner.registry import case, check, retry, setup

# The phases of '# boot-phases:' (verbose=1), in boot order.
BOOT_PHASE_NAMES = ('page_tables bss entry console multiboot acpi tsc apic smp tsc_refine '
                    'apic_timer pv total').split()
# An ACPI table with a 36-byte header and 4 bytes of body: 40 bytes, shorter
# than the HPET table's 56.
HPET_SHORT_BODY = b'\0\0\0\0'
# results.jsonl rounds its times to 0.01 ms.
DIFF_ROUNDING_MS = 0.02
UNIT_FLOORS = [u[0] for u in UNITS]
# make bench-boot's tool, for its targets (loaded by path: this module is
# also named boot).
_spec = importlib.util.spec_from_file_location(
    'bench_boot_tool', Path(__file__).resolve().parents[2] / 'tools' / 'bench' / 'boot.py')
BENCH_BOOT = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(BENCH_BOOT)


@setup('hpet-short-table')
def hpet_short_table(ctx, path):
    Path(path).write_bytes(HPET_SHORT_BODY)


@check('boot-phases')
def boot_phases(ctx):
    """One '# boot-phases:' line, every phase in boot order, equal to the smp
    result's boot_phases_us, the parts adding up to the total to rounding
    (one microsecond per phase)."""
    text = ctx.text().splitlines()
    lines = [l[len('# boot-phases: '):] for l in text if l.startswith('# boot-phases: ')]
    if len(lines) != 1:
        return f'{len(lines)} boot-phases lines'
    line = json.loads(lines[0])
    if list(line) != BOOT_PHASE_NAMES:
        return f'phases {list(line)}'
    results = [json.loads(l[len('# result: '):]) for l in text if l.startswith('# result: ')]
    smp = [r for r in results if r.get('test') == 'smp']
    if not smp or smp[0].get('boot_phases_us') != line:
        return 'smp.boot_phases_us differs from the line'
    parts = sum(v for k, v in line.items() if k != 'total')
    if abs(parts - line['total']) > len(line):
        return f'phases add up to {parts}, total {line["total"]}'
    return None


@check('bench-boot-results')
def bench_boot_results(ctx, out):
    """results.md: the header, a row for each of 1 and 2 vCPUs with one run,
    medians and spreads, the machine, the unit-cost rows, the targets
    (one run cannot decide them) and, at 2 vCPUs, the boot CPU's and the
    APs' parts; results.jsonl: those two rows, each difference its medians'
    difference, pvspin over the floor in blocks, bytes and image, and the
    accounting adding up (bench/boot.py itself fails a run whose SMP floor
    did not count every AP, or whose max_cpus=1 boot did not leave them
    out)."""
    out = Path(out)
    md = ctx.text(out / 'results.md')
    header = ('| vCPUs | runs | pvspin | floor | pvspin - floor | pvspin / floor '
              '| smp floor | pvspin - smp floor |')
    span = r'[0-9]+ \[[0-9]+-[0-9]+\]'
    for n in (1, 2):
        if (header not in md
                or not re.search(rf'^\| {n} \| 1 \| {span} \| {span} \| [-+][0-9]+ \| [0-9]+\.[0-9]+x '
                                 rf'\| {span} \| [-+][0-9]+ \|', md, re.M)
                or not re.search(rf'^\| {n} \| smp-floor \| ', md, re.M)
                or not re.search(r'^Machine: .*QEMU', md, re.M)
                or not re.search(rf'^\| {n} \| -?[0-9.]+ \| -?[0-9.]+ \| -?[0-9.]+ \| [0-9,]+, [0-9,]+, [0-9,]+ \| ',
                                 md, re.M)
                or not re.search(rf'^\| {n} \| 1 \| <= \+{BENCH_BOOT.TARGET_DIFF_MS:g} ms \| [-+][0-9.]+ ms \(no interval\) '
                                 rf'\| {TOO_FEW} \|$', md, re.M)):
            return f'results.md lacks the header, the {n}-vCPU rows or the machine: {md[:900]!r}'
    if not re.search(r'^\| 2 \| [-+][0-9]+ \| [-+][0-9.]+ \| [-+][0-9.]+ \| [-+][0-9.]+ \|$', md, re.M):
        return f'results.md lacks the 2-vCPU row of pvspin - floor in parts: {md[-900:]!r}'
    try:
        rows = [json.loads(l) for l in ctx.text(out / 'results.jsonl').splitlines()]
        assert [r['vcpus'] for r in rows] == [1, 2] and all(r['runs'] == 1 for r in rows), \
            'rows of 1 and 2 vCPUs, 1 run each'
        for r in rows:
            assert abs(r['diff_ms'] - (r['pvspin_ms']['median'] - r['floor_ms']['median'])) < DIFF_ROUNDING_MS, \
                'diff_ms'
            assert abs(r['diff_smp_floor_ms'] - (r['pvspin_ms']['median'] - r['smp_floor_ms']['median'])) \
                < DIFF_ROUNDING_MS, 'diff_smp_floor_ms'
            assert r['ratio'] > 0 and r['machine'] and r['date'], 'ratio, machine, date'
            bsp = {'pvspin-bsp'} if r['vcpus'] > 1 else set()
            assert set(r['breakdown_ms']) == {'floor', 'smp-floor', 'pvspin', *bsp, *UNIT_FLOORS}, \
                'breakdown of every guest (pvspin max_cpus=1 above 1 vCPU)'
            t = r['target']
            assert t['kind'] == 'diff_ms' and t['limit'] == BENCH_BOOT.TARGET_DIFF_MS and t['lo'] is None \
                and t['verdict'] == TOO_FEW, 'target: one run decides nothing'
            assert abs(t['estimate'] - r['diff_ms']) < DIFF_ROUNDING_MS, 'target estimate'
            if bsp:
                s = r['shares_ms']
                assert set(s) == {'bsp', 'aps', 'qemu_aps'}, 'shares'
                assert abs(s['bsp']['estimate'] + s['aps']['estimate'] - r['diff_ms']) < 2 * DIFF_ROUNDING_MS, \
                    'the boot CPU and the APs add up to pvspin - floor'
            units = set(UNIT_NAMES)
            assert set(r['unit_us']) == units and set(r['pvspin_over_floor']) == units, 'unit costs'
            assert set(r['unit_us_interval']) == units and all(
                i['lo'] is None and i['hi'] is None for i in r['unit_us_interval'].values()), \
                'unit costs: one run gives no interval'
            over = r['pvspin_over_floor']
            assert over['block'] > 0 and over['byte'] > 0 and over['image_kib'] > 0, \
                'pvspin translates, prints and loads more than the floor'
            e = r['explained_ms']
            assert abs(e['total'] - sum(e[u] for u in units)) < DIFF_ROUNDING_MS, 'explained total'
            assert abs(r['unexplained_ms'] - (r['diff_ms'] - e['total'])) < DIFF_ROUNDING_MS, 'unexplained'
    except (ValueError, KeyError, IndexError, AssertionError) as e:
        return f'results.jsonl: {type(e).__name__} {e}'
    return None


def fault_below_guest(status, log, trace):
    """Why a failed nested run is the bed's and not the guest's, or None:
    a machine reset with no crash report from pvspin, or L1's KVM handling
    an L1 kernel address as the vCPU's (tools/nested/l1-init.sh names it
    in the run's L1 trace)."""
    if status == 3 and not re.search(r'^# CRASH', log, re.M):
        return 'L2 reset with no crash report'
    m = re.search(r'^L1 address (.* is .*)$', trace, re.M)
    if m:
        return f"L1's KVM ran the vCPU at L1's own code ({m.group(1)})"
    return None


def run_fault_below_guest(status, log, err, trace):
    """fault_below_guest for a nested call, one run or a batch: the call's
    status, then each run's own (run-qemu.sh's 'nested run I of N: status
    S' lines in ERR) with its own part of LOG. A batch's status is not its
    runs': one that ends 4 as asked hides another's reset."""
    why = fault_below_guest(status, log, trace)
    if why:
        return why
    runs = split_nested(log)
    for i, s in sorted(nested_statuses(err).items()):
        if 1 <= i <= len(runs):
            why = fault_below_guest(s, '\n'.join(runs[i - 1].lines), '')
            if why:
                return f'run {i}: {why}'
    return None


@retry('below-guest')
def below_guest(ctx):
    """A nested run the bed broke below the guest runs once more, its first
    log and the bed's diagnostics kept beside (so the case still fails if
    it happens twice)."""
    diag = ctx.logs / f'{ctx.case.name}.diag'
    traces = ''.join(ctx.text(t) for t in sorted(diag.glob('run-*.l1-trace')))
    why = run_fault_below_guest(ctx.status, ctx.text(), ctx.text(ctx.err), traces)
    if why and diag.exists():
        first = ctx.logs / f'{ctx.case.name}-first.diag'
        shutil.rmtree(first, ignore_errors=True)
        shutil.move(str(diag), first)
    return why


@case('below-guest-rule')
def below_guest_rule(ctx):
    """The retry rule on made-up diagnostics: a reset without a crash report
    and an L1 address in L1's trace are the bed's; a guest crash report or
    a lockup with a clean trace are the guest's."""
    reset = '# RESET: the machine reset while pvspin ran\n'
    crash = reset + '# CRASH: #PF page fault (vector 14) on CPU 3\n'
    trace = 'L1 address ffffffffc038120c is __svm_vcpu_run+0x6c [kvm_amd]\n'
    ctx.require(fault_below_guest(3, reset, ''), "a reset without '# CRASH' was not taken for the bed's")
    ctx.require(not fault_below_guest(3, crash, ''), "a guest crash report was taken for the bed's")
    got = fault_below_guest(4, reset, trace)
    want = "L1's KVM ran the vCPU at L1's own code (ffffffffc038120c is __svm_vcpu_run+0x6c [kvm_amd])"
    ctx.require(got == want, f"an L1 address in L1's trace was not named: {got!r}")
    ctx.require(not fault_below_guest(4, reset, ''),
                "a lockup with no L1 address in the trace was taken for the bed's")
    # A batch whose first run ends 4 as asked and whose second reset.
    hang = 'not ok 1 hang # lockup\nEXIT: STATUS=4\n'
    l1 = L1_PREFIX + '{}\n'
    err = status_line(1, 2, 4) + '\n' + status_line(2, 2, 3) + '\n'
    got = run_fault_below_guest(4, l1 + hang + l1 + reset, err, '')
    ctx.require(got == 'run 2: L2 reset with no crash report',
                f"a batch run's reset was not taken for the bed's: {got!r}")
    ctx.require(not run_fault_below_guest(4, l1 + hang + l1 + crash, err, ''),
                "a batch run's guest crash report was taken for the bed's")
    ctx.require(not run_fault_below_guest(4, l1 + hang + l1 + reset, status_line(1, 2, 4) + '\n', ''),
                "a batch with no reset was retried")
