# SPDX-License-Identifier: MIT
# lava_side.py: the checks of tests/lava/run.py that need LAVA's own code (lava_common, PyYAML, jinja2), run under the dispatcher's python3.
"""stdin: JSON {"jobs": [YAML text, ...], "contexts": [context, ...]}
stdout: JSON {"schema": [null or the schema's complaint, ...],
              "loaded": [each job as PyYAML reads it back, ...],
              "devices": [qemu.jinja2 rendered for each context, ...],
              "applied": [device.for_job() for each context, ...],
              "in_tree": true when qemu-device.yaml is the template's
                         rendering (device.HEADER, device.RENDERED_FOR)}
Run by tests/lava/run.py as `dispatcher.python() lava_side.py TEMPLATES`."""
import json
import sys
from pathlib import Path

import yaml
from lava_common.schemas import validate
from voluptuous import Invalid

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from lava import device   # noqa: E402


def schema(text):
    try:
        validate(yaml.safe_load(text), strict=True)
    except Invalid as e:
        return str(e)
    return None


def main(templates):
    data = json.load(sys.stdin)
    base = device.load()
    out = {
        "schema": [schema(t) for t in data["jobs"]],
        "loaded": [yaml.safe_load(t) for t in data["jobs"]],
        "devices": [yaml.safe_load(device.render(c, templates)) for c in data["contexts"]],
        "applied": [device.for_job(base, c) for c in data["contexts"]],
        "in_tree": device.DEVICE_YAML.read_text() ==
        device.HEADER + device.render(device.RENDERED_FOR, templates).lstrip("\n"),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
