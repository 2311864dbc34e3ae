#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# device.py: the stock qemu device, as a lab's server renders it for a job, without the server.
"""A lab's server renders the device dictionary of a job's device through
the device-type template (lava-server's qemu.jinja2) with the job's
context, and hands the dispatcher the result. lava-run on its own takes a
rendered device, so the in-tree qemu-device.yaml is that rendering for
`arch: amd64` and nothing else (the stock defaults), and for_job() applies
a job's context to it the way qemu.jinja2 does, for the context keys
pvspin's jobs set:

    no_kvm          drops `-cpu host` and `-enable-kvm`
    memory          `-m MB` (default 512)
    extra_options   the list of further options (`extra:`)
    arch            amd64 / x86_64 (the template's x86 branch)

Any other key is refused (BadDevice): the stock template would apply it and
this copy does not. tests/lava/run.py renders the real template with each
context its jobs use and checks for_job() gives the same device.

    tools/lava/device.py render [KEY=VALUE...]   the template's rendering
                                                 (lava-server's templates,
                                                 fetched into the cache)

qemu-device.yaml's head says how it was rendered (HEADER).
"""
import copy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEVICE_YAML = HERE / "qemu-device.yaml"
# The device dictionary of a stock qemu device: the type's template with
# its defaults (a lab adds mac_addr and the like; none changes a pvspin job).
DEVICE_DICT = "{% extends 'qemu.jinja2' %}\n"
RENDERED_FOR = {"arch": "amd64"}
HEADER = """\
# SPDX-License-Identifier: GPL-2.0-or-later
# qemu-device.yaml: the stock LAVA qemu device for arch amd64, rendered from lava-server's qemu.jinja2 (GPL-2.0-or-later).
# Written by `tools/lava/device.py render arch=amd64 > tools/lava/qemu-device.yaml`
# (lava-server 2023.01-2, Debian 12); tools/lava/device.py applies a job's context to it.
"""
KVM_OPTIONS = ("-cpu host", "-enable-kvm")
DEFAULT_MEMORY = 512
ARCHES = ("amd64", "x86_64")
CONTEXT_KEYS = ("arch", "no_kvm", "memory", "extra_options")


class BadDevice(ValueError):
    """A job context this device cannot apply: bad input."""


def load():
    """The in-tree rendering (a dict; needs PyYAML, the dispatcher's own)."""
    import yaml
    return yaml.safe_load(DEVICE_YAML.read_text())


def for_job(device, context):
    """DEVICE (the in-tree rendering) with a job's CONTEXT applied."""
    unknown = sorted(set(context) - set(CONTEXT_KEYS))
    if unknown:
        raise BadDevice(f"context {', '.join(unknown)}: this device applies only "
                        f"{', '.join(CONTEXT_KEYS)} (tools/lava/device.py)")
    if context.get("arch", "amd64") not in ARCHES:
        raise BadDevice(f"context arch '{context['arch']}': this device is x86-64 ({', '.join(ARCHES)})")
    extra = context.get("extra_options")
    if extra is not None and not (isinstance(extra, list) and all(isinstance(x, str) for x in extra)):
        raise BadDevice("context extra_options: a list of strings")
    out = copy.deepcopy(device)
    for method in ("qemu", "qemu-nfs"):
        params = out["actions"]["boot"]["methods"][method]["parameters"]
        options = params["options"]
        if context.get("no_kvm"):
            options[:] = [o for o in options if o not in KVM_OPTIONS]
        memory = context.get("memory", DEFAULT_MEMORY)
        options[:] = [f"-m {memory}" if o == f"-m {DEFAULT_MEMORY}" else o for o in options]
        if extra:
            params["extra"] = list(extra)
    return out


def render(context, templates):
    """The stock template's rendering for CONTEXT, as text (lava-server's
    device-type directory TEMPLATES; jinja2 set up as lava-server does)."""
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2 import FileSystemLoader
    env = SandboxedEnvironment(loader=FileSystemLoader([str(templates)]),
                               autoescape=False, trim_blocks=True)
    return env.from_string(DEVICE_DICT).render(**context)


def main(argv):
    sys.path.insert(0, str(HERE.parent))
    from lava import dispatcher
    from pvspin import status
    if not argv or argv[0] != "render":
        print("usage: tools/lava/device.py render [KEY=VALUE...]", file=sys.stderr)
        return status.BAD_INPUT
    context = {}
    for item in argv[1:]:
        key, eq, value = item.partition("=")
        if not eq:
            print(f"device.py: '{item}': KEY=VALUE", file=sys.stderr)
            return status.BAD_INPUT
        context[key] = int(value) if value.isdigit() else value
    sys.stdout.write(HEADER + render(context, dispatcher.templates()).lstrip("\n"))
    return status.PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
