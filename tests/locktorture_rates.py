#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# locktorture_rates.py: the tests' check that a shape=locktorture run took its long holds, short delays and jiffy sleeps at locktorture's rates.
"""usage: locktorture_rates.py LOG TEST

Reads the "# result:" lines of TEST (torture or bench) in LOG, which must
hold exactly one. Its long holds and short delays must each come within 5
standard deviations (Poisson) of acquisitions/N, N being the result's
long_hold_one_in and short_delay_one_in; the jiffy sleeps at most that far
above acquisitions/2^20; at least 10 long holds must be expected (the
chance of none is then below e^-10), so that a loop without long holds
fails; and every long hold taken must also be among the holds measured
over 1 ms (long_holds). Prints one "#" line on the counts; exits 0 if all
holds, else 1 with one line per problem on stderr.
"""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import pvlog  # noqa: E402  (found through the path above)

MIN_LONG_HOLDS = 10
SIGMAS = 5
JIFFY_SLEEP_ONE_IN = 2**20


def near(got, want):
    return abs(got - want) <= SIGMAS * math.sqrt(want) + 1


def problems(r):
    n, lock = r['acquisitions'], r['lock']
    long_want = n / r['long_hold_one_in']
    short_want = n / r['short_delay_one_in']
    sleep_want = n / JIFFY_SLEEP_ONE_IN
    print(f"#   {lock}: {n} acquisitions, long holds {r['long_holds_taken']} (expected {long_want:.1f}), "
          f"short delays {r['short_delays']} (expected {short_want:.1f}), jiffy sleeps {r['jiffy_sleeps']} "
          f"(expected {sleep_want:.1f}), holds over 1 ms {r['long_holds']}")
    bad = []
    if long_want < MIN_LONG_HOLDS:
        bad.append(f"{lock}: {n} acquisitions, too few to expect {MIN_LONG_HOLDS} long holds")
    if not near(r['long_holds_taken'], long_want):
        bad.append(f"{lock}: {r['long_holds_taken']} long holds, expected {long_want:.1f}")
    if not near(r['short_delays'], short_want):
        bad.append(f"{lock}: {r['short_delays']} short delays, expected {short_want:.1f}")
    if r['jiffy_sleeps'] > sleep_want + SIGMAS * math.sqrt(sleep_want) + 5:
        bad.append(f"{lock}: {r['jiffy_sleeps']} jiffy sleeps, expected {sleep_want:.1f}")
    if r['long_holds'] < r['long_holds_taken']:
        bad.append(f"{lock}: {r['long_holds_taken']} long holds taken, only {r['long_holds']} holds over 1 ms")
    return bad


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, test = argv[1], argv[2]
    rs = [j for run in pvlog.parse(pvlog.read_log(log)) for j in run.json if j.get('test') == test]
    bad = [] if len(rs) == 1 else [f"{len(rs)} {test} results, expected 1"]
    for r in rs:
        try:
            bad += problems(r)
        except (KeyError, TypeError, ZeroDivisionError) as e:
            bad.append(f"{r.get('lock')}: no locktorture counts ({e!r})")
    for b in bad:
        print(b[:400], file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
