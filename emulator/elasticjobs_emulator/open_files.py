"""The emulator's open-file limit: raised to what the system allows when it starts, named in errors.

Every target database is a file. A running batch holds its database's file open (a JA800 agent
running 800 ``WAITFOR`` batches holds 800), and so does each idle connection kept for the next
batch (:mod:`elasticjobs_emulator.catalog`). systemd starts services and login sessions with a soft
limit of 1,024 descriptors and a hard limit of 524,288, and its manual asks programs that can use
descriptors above 1,023 to raise their own soft limit to the hard one (``systemd.exec(5)``,
``LimitNOFILE=``: <https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html>); Go
programs do it at start since Go 1.19 (<https://github.com/golang/go/issues/46279>). The emulator
can: its event loop is uvicorn's asyncio loop (epoll or kqueue, not ``select``), and SQLite opens
its files itself. Under a soft limit of 256, a JA800 agent's execution over 300 databases could not
open every file (docs/emulator-engine.md, "Efficiency").
"""

from __future__ import annotations

import os
import resource

#: Never asks for more than this: the emulator keeps at most 12,288 idle connections
#: (``catalog.MAX_IDLE_CONNECTIONS``) besides its agents' running batches. Also the value asked for
#: when the hard limit is unlimited.
WANTED_OPEN_FILES = 65536
#: Where a system refuses the hard limit as the soft one, this is asked for instead. macOS starts
#: shells at 256 with an unlimited hard limit, but a process may not have more than
#: ``kern.maxfilesperproc`` files, 10,240 on a default install
#: (<https://apple.stackexchange.com/questions/366187>).
FALLBACK_OPEN_FILES = 10240


def soft_limit() -> int | None:
    """The soft ``RLIMIT_NOFILE`` in force; None when it is unlimited."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_open_file_limit() -> int | None:
    """Raise the soft ``RLIMIT_NOFILE`` towards the hard limit (at most :data:`WANTED_OPEN_FILES`),
    never lowering it; return the soft limit in force afterwards (None: unlimited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    for candidate in (wanted, min(wanted, FALLBACK_OPEN_FILES)):
        if candidate <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (candidate, hard))
        except (ValueError, OSError):
            continue
        break
    return soft_limit()


def describe_use() -> str:
    """The open-file limit, and how many files are open when that can be read, for an error message."""
    limit = soft_limit()
    try:
        now = f", {len(os.listdir('/proc/self/fd'))} open now"
    except OSError:  # no /proc (macOS), or no descriptor left to list them with
        now = ""
    return (
        f"The emulator may have {'unlimited' if limit is None else limit} files open (ulimit -n){now}; "
        "if that is the cause, raise the open-file limit of the shell or service that starts it."
    )
