# SPDX-License-Identifier: MIT
# guestfs.py: a stand-in for libguestfs' Python module, which lava-dispatcher imports but a tmpfs kernel boot never uses.
"""lava_dispatcher.utils.filesystem imports guestfs at start; only its
disk-image helpers (overlays into ext4/qcow2 images) call it. pvspin's jobs
boot a kernel image from tmpfs, so a call here means a job this setup was
not made for: it fails and says so."""


class GuestFS:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("libguestfs is not installed (tools/lava/dispatcher.py runs jobs "
                           "that boot a kernel from tmpfs; disk images need python3-guestfs)")
