#!/usr/bin/env bash
# A local Airflow 3 deployment without Docker: PostgreSQL, the Elastic Jobs emulator, api-server,
# scheduler (LocalExecutor), dag-processor and two triggerers, all on 127.0.0.1 (free ports), with
# the example DAGs and their connections. Prints the UI URL and login; Ctrl-C stops everything.
#
#   bash scripts/stack.sh [--state-dir DIR] [--triggerers N]
#
# Needs Python >= 3.11 and PostgreSQL's server binaries: as root with apt-get, Debian's
# `postgresql` package is installed when missing. See docs/deployment.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
have_postgres || apt_install postgresql
exec python -m scripts.stack "$@"
