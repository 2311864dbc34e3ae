# SPDX-License-Identifier: MIT
# pvbench: the overcommit benchmark runner behind tools/bench/matrix.py.
"""The overcommit benchmark runner (tools/bench/matrix.py is its entry point).

Modules, each importing only those above it (tests/bench_unit.py checks):
  common   paths, exit statuses, messages
  config   configurations (VCPUS@CPUSET[xVMS]) and list parsing
  cli      the command line: parse_args() -> Options, or exit status 2
  env      the host described (QEMU, CPU model, kernel, guest revision)
  logs     what the runner needs from a serial log, read by tools/pvlog.py
  qmp      a minimal QMP client that pins vCPU threads
  results  per-lock records from the logs, failure reasons, the CSV files
  runs     booting the VMs step by step (tcg, kvm, auto)
  nested   every run in one L1 boot (--accel nested)
  store    matrix.json and results.jsonl: what the reports are built from
  stats    per (config, lock) cells, medians, number formats
  summary  summary.md
  plots    the gnuplot data, scripts and images
  report   every report from the run directory (also `matrix.py report DIR`)
  main     a run: options, runs, store, report
"""
