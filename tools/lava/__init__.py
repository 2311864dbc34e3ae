# SPDX-License-Identifier: MIT
# lava: pvspin as LAVA jobs: the job generator, the local dispatcher and the reader of its results.
"""With tools/ on sys.path:

    from lava import job, results
    j = job.build_job(job.Options(smp=4, guest_args=["test=smp"]))
    text = job.to_yaml(j)                     # what run-qemu.sh --lava-job prints
    cases, st = results.read(Path("out/lava-run.log"))

docs/lava.md says what each part does and what LAVA cannot express.
"""
