"""Delete what interrupted live test runs left on Azure: ``python -m tests.live.cleanup``.

Reads the same ``ELASTICJOBS_LIVE_*`` variables as the tests (docs/live-tests.md) and deletes, in the
configured resource group, every job agent and then every server (with its databases) whose name
starts with ``--prefix`` (default ``ejlive-``: every live run's servers; give one run's prefix, printed
at the start of the run, to delete only that run's). Exit status 1 when something is still there.
"""

from __future__ import annotations

import argparse
import os
import sys

from tests.live.azure_fleet import delete_run
from tests.live.settings import RUN_PREFIX_ROOT, LiveSettings


def main(argv: list[str] | None = None) -> int:
    """Delete by prefix and report; 0 when nothing is left."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=RUN_PREFIX_ROOT, help="server name prefix (default %(default)s)")
    args = parser.parse_args(argv)
    if not args.prefix.startswith(RUN_PREFIX_ROOT):
        parser.error(f"--prefix must start with {RUN_PREFIX_ROOT!r}: only servers of live runs are deleted")
    settings = LiveSettings.from_env(os.environ)
    leftovers = delete_run(settings, args.prefix)
    for leftover in leftovers:
        print(f"still there (delete it in the portal or with az): {leftover}")
    print("nothing left" if not leftovers else f"{len(leftovers)} left")
    return 1 if leftovers else 0


if __name__ == "__main__":
    sys.exit(main())
