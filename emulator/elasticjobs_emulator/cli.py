"""Command line of the emulator: ``python -m elasticjobs_emulator [options]``.

Every option also reads an environment variable ``ELASTIC_JOBS_EMULATOR_<OPTION>`` (e.g.
``ELASTIC_JOBS_EMULATOR_PORT``). When the server is listening it prints one line
``Elastic Jobs emulator ready at <url> (certificate: <path>)`` and flushes stdout.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from pathlib import Path

import uvicorn

from elasticjobs_emulator.api.app import DEFAULT_AGENT_PROVISIONING_SECONDS, create_app
from elasticjobs_emulator.context import DEFAULT_PAGE_SIZE
from elasticjobs_emulator.cpu_affinity import use_one_cpu
from elasticjobs_emulator.open_files import raise_open_file_limit
from elasticjobs_emulator.principals import PrincipalError
from elasticjobs_emulator.tls import ensure_certificate

_ENV_PREFIX = "ELASTIC_JOBS_EMULATOR_"
DEFAULT_TOKEN = "emulator-token"
READY_PREFIX = "Elastic Jobs emulator ready at "
#: How long an idle HTTP/1.1 connection stays open for the client's next request. uvicorn's default
#: (5 s) is shorter than most clients' own idle limits, so a pooled connection is often reused just
#: as the server closes it, and azure-core sends no POST (start, cancel) again then. Azure publishes
#: no figure for Resource Manager; 4 minutes is its front ends' documented default (docs/emulator.md).
IDLE_CONNECTION_SECONDS = 240


def _env(name: str, default: str) -> str:
    return os.environ.get(_ENV_PREFIX + name, default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (defaults from ``ELASTIC_JOBS_EMULATOR_*`` environment variables)."""
    parser = argparse.ArgumentParser(
        prog="python -m elasticjobs_emulator",
        description="Local Azure SQL Elastic Jobs emulator (ARM api-version 2025-01-01).",
    )
    parser.add_argument(
        "--host", default=_env("HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=int(_env("PORT", "8443")), help="port (default 8443; 0 = a free port)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(_env("STATE_DIR", ".emulator-state")),
        help="directory for the SQLite state, database files and TLS certificate",
    )
    parser.add_argument(
        "--token", default=_env("TOKEN", DEFAULT_TOKEN), help="bearer token clients must send"
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        default=_env("INSECURE_HTTP", "") in ("1", "true", "yes"),
        help="serve plain HTTP, not HTTPS (explicit opt-in; Azure SDK clients need enforce_https=False)",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=int(_env("PAGE_SIZE", str(DEFAULT_PAGE_SIZE))),
        help="items per list page",
    )
    parser.add_argument(
        "--agent-provisioning-seconds",
        type=float,
        default=float(_env("AGENT_PROVISIONING_SECONDS", str(DEFAULT_AGENT_PROVISIONING_SECONDS))),
        help="how long job agent create/update/delete operations take",
    )
    parser.add_argument(
        "--tls-hostname",
        action="append",
        default=[h for h in _env("TLS_HOSTNAMES", "").split(",") if h],
        help="extra DNS name the certificate covers (repeatable), e.g. a docker compose service name",
    )
    parser.add_argument(
        "--principals-file",
        type=Path,
        default=_env("PRINCIPALS_FILE", "") or None,  # argparse applies type=Path to a string default
        help="JSON list of Entra ID service principals to register at start "
        '([{"client_id", "secret", "role", "lifetime_seconds"}], see docs/emulator.md)',
    )
    parser.add_argument(
        "--all-cpus",
        action="store_true",
        default=_env("ALL_CPUS", "") in ("1", "true", "yes"),
        help="run on every CPU the process may use (default: one; its threads hand the GIL to each "
        "other so often that a second core made fan-outs slower, see docs/emulator.md)",
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "info"), help="uvicorn log level")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be >= 1")
    if args.agent_provisioning_seconds < 0:
        parser.error("--agent-provisioning-seconds must be >= 0")
    return args


class _Server(uvicorn.Server):
    """uvicorn server that announces readiness on stdout once it listens."""

    announcement = ""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self.announcement, flush=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM; return the exit code."""
    args = parse_args(argv)
    if not args.all_cpus:
        use_one_cpu()  # before any thread starts: threads inherit it
    raise_open_file_limit()  # a JA800 agent's batches alone hold 800 database files open
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as error:
        print(
            f"Cannot listen on {args.host}:{args.port}: {error.strerror}; pass another --port (0 = free).",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    if args.token == DEFAULT_TOKEN and not _is_loopback(args.host):
        print(
            f"Warning: listening on {args.host} with the default token, which anyone who can reach this "
            "port knows; pass --token (or ELASTIC_JOBS_EMULATOR_TOKEN) with a secret of your own.",
            file=sys.stderr,
        )
    ssl_options: dict[str, str] = {}
    if args.insecure_http:
        scheme, certificate = "http", "none, plain HTTP"
    else:
        cert_path, key_path = ensure_certificate(state_dir, args.tls_hostname)
        scheme, certificate = "https", str(cert_path)
        ssl_options = {"ssl_certfile": str(cert_path), "ssl_keyfile": str(key_path)}
    try:
        app = create_app(
            state_dir,
            args.token,
            page_size=args.page_size,
            agent_provisioning_seconds=args.agent_provisioning_seconds,
            principals_file=args.principals_file,
        )
    except PrincipalError as error:
        print(f"--principals-file: {error}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=IDLE_CONNECTION_SECONDS,
        **ssl_options,
    )
    server = _Server(config)
    host = f"[{args.host}]" if ":" in args.host else args.host
    server.announcement = f"{READY_PREFIX}{scheme}://{host}:{port} (certificate: {certificate})"
    server.run(sockets=[sock])
    return 0 if server.started else 1
