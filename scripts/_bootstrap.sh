# Sourced by scripts/test.sh, scripts/demo.sh and scripts/stack.sh: make ./.venv with Python >= 3.11
# and install both distributions of this repository, editable: the emulator (./emulator, not on PyPI)
# and the provider with its emulator, test and deploy extras. One pip command, so the provider's
# [emulator] pin resolves to ./emulator. Re-running is cheap: the install is skipped while neither
# pyproject.toml changed since the last successful install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ELASTICJOBS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtual environment in $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.elasticjobs-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/emulator/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "Installing airflow-elasticjobs, its emulator and test/deploy dependencies (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT/emulator" -e "$ROOT[emulator,test,deploy,openlineage,parquet]"
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

# Debian packages a caller needs, installed where we can (root + apt-get); otherwise say what is
# missing and go on (the callers then fail or skip with that reason).
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: $*"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null \
      || echo "Could not install $*" >&2
  else
    echo "Missing Debian packages (install them as root): $*" >&2
  fi
}

# Whether PostgreSQL's server binaries are here (Debian's layout, or initdb on PATH).
have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1
}
