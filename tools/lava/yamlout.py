# SPDX-License-Identifier: MIT
# yamlout.py: YAML text for a job made of dicts, lists, strings, integers and booleans.
"""Emitting YAML needs no PyYAML: generating a job needs nothing past
python3's standard library. Strings are plain where YAML reads them back as
the same string, single-quoted otherwise (no escapes: a regular expression
stays readable), and JSON-quoted if they hold a control character."""
import json
import re

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
# Words YAML 1.1 (PyYAML, LAVA's reader) reads as booleans or null.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)


def _lines(value, indent):
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            yield pad + "{}"
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{scalar(key)}:"
                yield from _lines(item, indent + (2 if isinstance(item, dict) else 0))
            else:
                yield f"{pad}{scalar(key)}: {_inline(item)}"
    elif isinstance(value, list):
        if not value:
            yield pad + "[]"
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = list(_lines(item, indent + 2))
                yield f"{pad}- {inner[0].lstrip()}"
                yield from inner[1:]
            else:
                yield f"{pad}- {_inline(item)}"
    else:
        yield pad + scalar(value)


def _inline(value):
    if value == {}:
        return "{}"
    if value == []:
        return "[]"
    return scalar(value)


def dump(value):
    """VALUE (a dict) as a YAML document, ending in a newline."""
    return "\n".join(_lines(value, 0)) + "\n"
