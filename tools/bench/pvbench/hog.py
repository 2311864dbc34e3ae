# SPDX-License-Identifier: MIT
# hog.py: one co-runner of --hog, busy DUTY% of every period on one host CPU.
"""A CPU hog: `python3 hog.py CPU DUTY_PCT PERIOD_MS fifo|other`.

Pins itself to CPU, takes SCHED_FIFO (priority 1) when asked, then spins
for DUTY% of every PERIOD_MS and sleeps the rest. The periods are aligned
to multiples of PERIOD_MS on CLOCK_MONOTONIC, so the phase does not depend
on when it started. Runs until it is killed. Exit status 2 for bad
arguments, 1 if the scheduling policy cannot be set.
"""
import os
import sys
import time

FIFO_PRIORITY = 1
NS_PER_MS = 1000000


def main(argv):
    try:
        cpu, duty, period_ms, policy = int(argv[0]), float(argv[1]), float(argv[2]), argv[3]
    except (IndexError, ValueError):
        print("hog.py: usage: hog.py CPU DUTY_PCT PERIOD_MS fifo|other", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {cpu})
    if policy == "fifo":
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(FIFO_PRIORITY))
        except OSError as e:
            print(f"hog.py: SCHED_FIFO: {e}", file=sys.stderr)
            return 1
    period = int(period_ms * NS_PER_MS)
    busy = int(period * duty / 100)
    while True:
        now = time.monotonic_ns()
        start = now - now % period
        while time.monotonic_ns() < start + busy:
            pass
        left = start + period - time.monotonic_ns()
        if left > 0:
            time.sleep(left / 1e9)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
