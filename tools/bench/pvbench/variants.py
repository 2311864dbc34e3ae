# SPDX-License-Identifier: MIT
# variants.py: the boots each configuration gets: pvspin under its shapes, and the Linux peer.
"""What boots every config and repetition of the matrix gets.

A Variant is one kind of boot: pvspin's test=bench under one shape
(`default`: hold_ns/think_ns; `locktorture`: Linux locktorture's writer
loop), or the Linux peer (`run-qemu.sh --guest linux`) with one locktorture
lock type. plan_variants() lists them in the order each step runs them.

A series names what one table row or plot line shows: pvspin's default
shape is the lock's own name (so every report written before shapes reads
the same), the others say their shape or guest: 'tas (locktorture)',
'linux spin_lock'. record_series() gives a result record's series; a
record without guest or shape is pvspin's default shape.

The Linux peer's lock types are read from tools/peer/linux/options.py, the
peer's own list, so the runner accepts exactly what the peer does.
"""
import functools
import importlib.util
from dataclasses import dataclass

from .common import REPO, UsageError
from .config import parse_list

PVSPIN, LINUX = "pvspin", "linux"
PEERS = (LINUX,)
DEFAULT_SHAPE, LOCKTORTURE_SHAPE = "default", "locktorture"
SHAPES = (DEFAULT_SHAPE, LOCKTORTURE_SHAPE)
DEFAULT_PEER_LOCK = "spin_lock"
# pvspin's limit for long_hold_ms (suites/torture_shape.h), below Linux's.
LONG_HOLD_MS_MAX = 1000
PEER_DIR = REPO / "tools" / "peer" / "linux"
PEER_OPTIONS = PEER_DIR / "options.py"
PEER_BUILD = PEER_DIR / "build.py"      # builds the peer's kernel once per machine, prints its path


@dataclass(frozen=True)
class Variant:
    """One kind of boot: GUEST under SHAPE; for the Linux peer, its LOCK."""
    guest: str = PVSPIN
    shape: str = DEFAULT_SHAPE
    lock: str = ""              # the peer's locktorture type; pvspin runs --locks

    @property
    def tag(self):
        """The variant in log names: '' for pvspin's default shape."""
        if self.guest == LINUX:
            return f"{LINUX}-{self.lock}"
        return "" if self.shape == DEFAULT_SHAPE else f"{PVSPIN}-{self.shape}"

    @property
    def text(self):
        """The variant for people: 'pvspin', 'pvspin locktorture', 'linux spin_lock'."""
        if self.guest == LINUX:
            return f"{LINUX} {self.lock}"
        return PVSPIN if self.shape == DEFAULT_SHAPE else f"{PVSPIN} {self.shape}"

    def to_json(self):
        return {"guest": self.guest, "shape": self.shape, "lock": self.lock}


PVSPIN_DEFAULT = Variant()


def variant_from_json(doc):
    """A Variant from to_json()'s object; a run stored without one is pvspin's default."""
    if not doc:
        return PVSPIN_DEFAULT
    return Variant(doc["guest"], doc["shape"], doc.get("lock", ""))


def series(guest, shape, lock):
    if guest == LINUX:
        return f"{LINUX} {lock}"
    return lock if shape in (None, "", DEFAULT_SHAPE) else f"{lock} ({shape})"


def record_series(record):
    return series(record.get("guest") or PVSPIN, record.get("shape"), record["lock"])


def plan_variants(shapes, peer, peer_lock):
    """pvspin's shapes in the order given, then the peer: each step's boots."""
    variants = [Variant(PVSPIN, shape) for shape in shapes]
    if peer == LINUX:
        variants.append(Variant(LINUX, LOCKTORTURE_SHAPE, peer_lock))
    return variants


def variant_locks(opts, variant):
    """The locks one boot of VARIANT reports."""
    return [variant.lock] if variant.guest == LINUX else list(opts.locks)


def all_series(opts):
    """Every series of the matrix, in the order the reports show them."""
    return [series(v.guest, v.shape, lock) for v in plan_variants(opts.shapes, opts.peer, opts.peer_lock)
            for lock in variant_locks(opts, v)]


@functools.lru_cache(maxsize=None)
def linux_peer_options():
    """The Linux peer's options module (tools/peer/linux/options.py)."""
    spec = importlib.util.spec_from_file_location("pvbench_linux_peer_options", PEER_OPTIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def linux_lock_types():
    """The locktorture types the Linux peer accepts."""
    return linux_peer_options().LOCK_TYPES


def linux_pv_choices():
    """The Linux peer's pv= values (it has no IPI backend)."""
    return linux_peer_options().PV_CHOICES


def parse_peer(text):
    if text is not None and text not in PEERS:
        raise UsageError(f"--peer '{text}': accepted: {', '.join(PEERS)}")
    return text or ""


def parse_peer_lock(text, peer):
    if text is None:
        return DEFAULT_PEER_LOCK if peer else ""
    if not peer:
        raise UsageError(f"--peer-lock '{text}': goes with --peer linux")
    types = linux_lock_types()
    if text not in types:
        raise UsageError(f"--peer-lock '{text}': not a lock type of the Linux peer's locktorture "
                         f"(one a boot); accepted: {', '.join(types)}")
    return text


def parse_shapes(text, peer):
    """--shapes LIST; without it, default (and locktorture beside it with --peer)."""
    if text is None:
        return [DEFAULT_SHAPE, LOCKTORTURE_SHAPE] if peer else [DEFAULT_SHAPE]
    shapes = parse_list(text, "--shapes")
    bad = [s for s in shapes if s not in SHAPES]
    if bad:
        raise UsageError(f"--shapes: unknown shape '{bad[0]}'; accepted: {', '.join(SHAPES)}")
    return list(dict.fromkeys(shapes))
