"""``python -m scripts.stack`` (what ``bash scripts/stack.sh`` runs): the local stack until Ctrl-C.

Prints the UI URL and login once the api-server lists the tutorial DAG, then waits. SIGINT (Ctrl-C),
SIGTERM or SIGHUP stop everything it started, PostgreSQL included, and exit 0. When a component
fails to start, or dies later, the tail of its log is printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from scripts.stack.local_stack import ROOT, LocalStack
from scripts.stack.postgres import PostgresUnavailable
from scripts.stack.process import ComponentError


class Stop(Exception):
    """A stop signal arrived."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """Run the stack in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".stack", help="default: ./.stack (emptied)")
    parser.add_argument("--triggerers", type=int, default=2, help="number of triggerers (default 2)")
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    stack = LocalStack(args.state_dir, triggerers=args.triggerers)
    print(
        f"Starting PostgreSQL, the emulator and Airflow (state and logs in {stack.state_dir}) ...", flush=True
    )
    try:
        stack.start()
        user, password = stack.login
        print(f"Ready in {stack.timings['total']:.0f} s.", flush=True)
        print(f"  Airflow UI:  {stack.api_url}/   login {user} / {password}", flush=True)
        print(f"  Emulator:    {stack.emulator.url}", flush=True)
        print(f"  Logs:        {stack.logs}/", flush=True)
        print("Press Ctrl-C to stop everything.", flush=True)
        while True:
            time.sleep(1)
            for component in stack.components.values():
                if not component.running():
                    raise ComponentError(component.failure("exited unexpectedly"))
    except Stop as stopped:
        print(f"\n{stopped}: stopping ...", flush=True)
        return _stop(stack, 0)
    except (ComponentError, PostgresUnavailable, RuntimeError) as error:
        print(f"\nFAILED: {error}", file=sys.stderr, flush=True)
        return _stop(stack, 1)


def _stop(stack: LocalStack, status: int) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the shutdown
    stack.stop()
    print("Stopped.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
