# SPDX-License-Identifier: MIT
# pvspin.nested: the nested KVM bed (L1 Linux with kvm-amd under QEMU TCG, L2 guests inside it).
"""The host side of tools/nested/nested-run.sh, one concern a module:

    options    the command line, its limits and defaults, the job file
    cache      the preparation under the cache's lock; cachedir: where and how named
    apt        package versions (apt-cache) and .debs (apt-get download)
    kernel     the L1 kernel, an uncompressed vmlinux, the modules and their order
    base       the base initramfs: busybox, modules, the host's QEMU, firmware
    cpio       newc archives (the base and the per-call initramfs)
    jobcpio    the per-call initramfs: init, image, jobs, config, kvm-anchor
    watchers   ReadyWatch, StallWatch, DumpTimer, Progress, FileLines, OutputCopier
    monitor    L1's CPU registers through QMP's human-monitor-command
    l1         one boot of L1: its QEMU, its channels, the watchers
    control    the control lines L1 sends
    results    statuses, env, diagnostics, the reasons of a bed failure
    report     stderr lines, the exit statuses, usage errors and bed failures
    main       the call: options, cache, boots, results
"""
