# SPDX-License-Identifier: MIT
# pvspin.nested: the nested KVM bed (L1 Linux with kvm-amd under QEMU TCG, L2 guests inside it).
"""The host side of tools/nested/nested-run.sh, one concern a module:

    options    the command line, its limits and defaults, the job file
    cache      apt, .deb unpacking, the L1 kernel and modules, the base initramfs
    cpio       newc archives (the base and the per-call initramfs)
    jobcpio    the per-call initramfs: init, image, jobs, config, kvm-anchor
    watchers   ReadyWatch, StallWatch, DumpTimer, Progress, FileLines, OutputCopier
    monitor    L1's CPU registers through QMP's human-monitor-command
    l1         one boot of L1: its QEMU, its channels, the watchers
    results    the control lines, statuses, diagnostics, the reasons of a bed failure
    main       the call: options, cache, boots, results
"""
