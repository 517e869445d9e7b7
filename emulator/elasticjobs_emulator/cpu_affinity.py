"""Which CPU the emulator runs on: one, unless told to use all it may.

The engine runs up to a job agent's capacity of targets at once, one Python thread each, and those
threads hand the GIL to each other at every SQLite call, lock and wait. On several cores each
hand-off wakes a thread on another core. Confined to one core, the same emulator spent 0.70-0.77 ms
of CPU per target of a 10,000-database ``WAITFOR`` step against 1.12 ms, and 2.0-2.5 ms against
5.2-5.8 ms per target of the tutorial's DDL step, back to back on a 2-core machine
(``docs/performance.md``, "Emulator fan-out"). The GIL lets only one of its threads run Python at a
time anyway; what a second core still gave it (SQLite work beside the interpreter) cost more than
it saved.
"""

from __future__ import annotations

import os


def use_one_cpu() -> int | None:
    """Confine this thread, and every thread it starts from now on, to one of the CPUs the process
    may use; return that CPU.

    Several emulators on one machine spread over the CPUs (chosen by process id). None where the
    platform has no CPU affinity (macOS, Windows) or only one CPU is allowed anyway.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    cpu = allowed[os.getpid() % len(allowed)]
    os.sched_setaffinity(0, {cpu})
    return cpu
