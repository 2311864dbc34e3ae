# SPDX-License-Identifier: MIT
# pvbench: the overcommit benchmark runner behind tools/bench/matrix.py.
"""The overcommit benchmark runner (tools/bench/matrix.py is its entry point).

Modules, each importing only those above it (tests/bench_unit.py checks):
  common   paths, exit statuses, messages
  config   configurations (VCPUS@CPUSET[xVMS][~MODE]) and list parsing
  variants the boots of each step: pvspin's shapes and the Linux peer
  interference  the interference modes (--quota, --stall, --hog) parsed and checked
  cgroups  the cgroups of --quota and --stall, and their cleanup
  cli      the command line: parse_args() -> Options, or exit status 2
  env      the host described (CPU, SMT, kernel, scheduler, slice, cgroups, QEMU, pinning)
  logs     what the runner needs from a serial log, read by tools/pvlog.py
  hog      one --hog co-runner process (run as a script)
  hostrun  interference applied and vCPU threads measured, per step
  results  per-lock records from the logs, failure reasons, the CSV files
  runs     booting the VMs step by step (tcg, kvm, auto)
  nested   every run of a guest in one L1 boot (--accel nested)
  store    matrix.json and results.jsonl: what the reports are built from
  stats    per (config, series) cells, medians, number formats
  summary  summary.md
  plots    the gnuplot data, scripts and images
  report   every report from the run directory (also `matrix.py report DIR`)
  lavajobs the matrix as LAVA jobs and their manifest (--lava-jobs DIR)
  importlava  LAVA job logs back into a run directory (`matrix.py import-lava`)
  compare  two run directories, each change with a confidence interval (`matrix.py compare`)
  merge    run directories from several hosts in one report (`matrix.py merge`)
  main     a run: options, runs, store, report
"""
