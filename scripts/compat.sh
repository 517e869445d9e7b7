#!/usr/bin/env bash
# Test the provider as users get it, on each Airflow release of scripts/compat_versions.txt
# (docs/compatibility-ci.md explains every stage and the test subset):
#   1. build the wheel and sdist of the provider (.) and of the emulator (./emulator), check them with
#      `twine check --strict` and scripts/compat_check_dist.py;
#   2. per Airflow version: a fresh venv (uv), the built wheels installed from dist/ (never editable),
#      the versions installed printed, `airflow providers list` must list the provider, then the
#      compatibility subset (scripts/compat_tests.txt) run from a copy of tests/ that holds no
#      package, so airflow_elasticjobs and elasticjobs_emulator import from the venv's site-packages.
# The oldest version is installed with the provider's requirements pinned to their lower bounds
# (scripts/compat_constraints.py). Every version runs even after another failed; the script exits 1
# naming each failed version and stage. Called last by scripts/test.sh; needs `uv`, `build`, `twine`
# (the [test] extra). COMPAT_WORK=DIR keeps the venvs and logs there (default: a new temporary
# folder, removed when every version passed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python}"
BASE_PY="$("$PY" -c 'import sys; print(sys.executable)')"
WORK="${COMPAT_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/elasticjobs-compat.XXXXXX")}"
DIST="$WORK/dist"
TREE="$WORK/tree"
mkdir -p "$WORK"
export UV_NO_PROGRESS=1
unset PYTHONPATH  # a venv sees its own packages only

STAGES=()   # "version stage seconds status", for the closing table
FAILED=()   # "version: stage"

# run_stage VERSION STAGE COMMAND...: run, time and record one stage; return its exit status.
run_stage() {
  local version="$1" stage="$2" start="$SECONDS" status=0
  shift 2
  echo "=== compat [$version] $stage"
  "$@" || status=$?
  STAGES+=("$version $stage $((SECONDS - start)) $([ "$status" = 0 ] && echo ok || echo FAILED)")
  if [ "$status" != 0 ]; then
    echo "compat: Airflow $version, stage '$stage' FAILED (exit $status)" >&2
    FAILED+=("$version: $stage")
  fi
  return "$status"
}

closing_table() {
  echo "=== compat: seconds per stage (work folder $WORK)"
  printf '%-8s %-10s %6s  %s\n' version stage seconds status
  local row
  for row in "${STAGES[@]}"; do
    # shellcheck disable=SC2086
    printf '%-8s %-10s %6s  %s\n' $row
  done
}

build_dists() {
  "$PY" -m build --outdir "$DIST" . >"$WORK/build.log" 2>&1 &&
    "$PY" -m build --outdir "$DIST" emulator >>"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log"; return 1; }
  ls -l "$DIST"
}

check_dists() {
  "$PY" -m twine --no-color check --strict "$DIST"/* && "$PY" scripts/compat_check_dist.py "$DIST"
}

# The provider's requirements pinned to their lower bounds, for the "lowest" row.
lower_bounds() {
  "$PY" scripts/compat_constraints.py "$DIST"/airflow_elasticjobs-*.whl >"$WORK/lowest-constraints.txt"
}

# The tests, their DAGs and the files they read, without the packages: pytest's rootdir is this copy.
copy_tests() {
  rm -rf "$TREE" && mkdir -p "$TREE" &&
    cp -r tests example_dags docs scripts pyproject.toml README.md "$TREE/" &&
    find "$TREE" -name __pycache__ -prune -exec rm -rf {} +
}

install_venv() {
  local version="$1" resolution="$2" cutoff="$3" venv="$4"
  local constraints=() name
  if [ -n "$cutoff" ]; then
    echo "cutoff: nothing uploaded after $cutoff, but for ${EXEMPT[*]}"
    constraints+=(--exclude-newer "$cutoff")
    for name in "${EXEMPT[@]}"; do constraints+=(--exclude-newer-package "$name=$NO_CUTOFF"); done
  fi
  if [ "$resolution" = lowest ]; then
    constraints+=(--constraints "$WORK/lowest-constraints.txt")
    echo "lowest: the provider's requirements pinned to their lower bounds:"
    sed 's/^/  /' "$WORK/lowest-constraints.txt"
  fi
  uv venv --quiet --python "$BASE_PY" "$venv" &&
    uv pip install --quiet --compile-bytecode --python "$venv/bin/python" --find-links "$DIST" \
      "${constraints[@]}" \
      "apache-airflow==$version" \
      "airflow-elasticjobs[emulator,openlineage,deploy] @ $(uri "$DIST"/airflow_elasticjobs-*.whl)" \
      "airflow-elasticjobs-emulator[airflow] @ $(uri "$DIST"/airflow_elasticjobs_emulator-*.whl)" \
      "${TEST_TOOLS[@]}" &&
    echo "venv: $venv" &&
    uv pip freeze --python "$venv/bin/python" | grep -iE "airflow|azure-mgmt-sql"
}

providers_list() {
  local venv="$1" home listing
  home="$(mktemp -d "$WORK/airflow-home.XXXXXX")"
  listing="$(AIRFLOW_HOME="$home" "$venv/bin/airflow" providers list --output plain 2>"$home/stderr")" ||
    { tail -20 "$home/stderr"; return 1; }
  echo "$listing" | grep -E "^airflow-elasticjobs(-emulator)? " ||
    { echo "airflow providers list does not list airflow-elasticjobs:"; echo "$listing"; return 1; }
  [ "$(echo "$listing" | grep -cE "^airflow-elasticjobs(-emulator)? ")" = 2 ]
}

run_subset() {
  local version="$1" venv="$2" status=0 newest=()
  # The newest row is the main venv's release, whose run of scripts/test.sh has just run all of
  # tests/deployment: its deployment tests are not run a second time here.
  [ "$version" = "${VERSIONS[-1]%% *}" ] && newest=(--ignore=tests/deployment)
  (cd "$TREE" && ELASTICJOBS_COMPAT_AIRFLOW="$version" timeout 900 "$venv/bin/python" -m pytest -q \
    -p no:cacheprovider --continue-on-collection-errors --durations=5 --junitxml="$WORK/junit-$version.xml" \
    "${SUBSET[@]}" "${newest[@]}") || status=$?
  [ -f "$WORK/junit-$version.xml" ] && "$PY" scripts/compat_summary.py "$WORK/junit-$version.xml"
  return "$status"
}

uri() { "$PY" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$1"; }

# --- what to test --------------------------------------------------------------------------------
mapfile -t VERSIONS < <(grep -vE '^\s*(#|$)|^exempt ' scripts/compat_versions.txt)
read -r -a EXEMPT < <(sed -n 's/^exempt //p' scripts/compat_versions.txt)
NO_CUTOFF=2100-01-01  # uv takes a date per package; one this far ahead lifts the cutoff
SUBSET=()
while read -r arg; do
  path="${arg%%::*}"
  if [[ "$arg" == -* ]] || [ -e "$path" ]; then SUBSET+=("$arg"); else echo "compat: $path not in this checkout, skipped"; fi
done < <(grep -vE '^\s*(#|$)' scripts/compat_tests.txt)
mapfile -t TEST_TOOLS < <("$PY" -c '
import re, tomllib
test = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]
print("\n".join(r for r in test if re.match(r"pytest\b", r)))')
for tool in uv build twine; do
  "$PY" -c "import $tool" 2>/dev/null || { echo "compat: $tool is missing: pip install -e '.[test]'" >&2; exit 1; }
done
uv() { "$PY" -m uv "$@"; }

# --- build once ----------------------------------------------------------------------------------
trap closing_table EXIT
run_stage dist build build_dists || exit 1
run_stage dist check check_dists || exit 1
run_stage dist bounds lower_bounds || exit 1
copy_tests

# --- each Airflow version ------------------------------------------------------------------------
for row in "${VERSIONS[@]}"; do
  read -r version resolution cutoff <<<"$row"
  venv="$WORK/venv-airflow-$version"
  run_stage "$version" install install_venv "$version" "$resolution" "$cutoff" "$venv" || continue
  run_stage "$version" providers providers_list "$venv" || true
  run_stage "$version" tests run_subset "$version" "$venv" || true
done

if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "compat: FAILED on Airflow $(printf '%s, ' "${FAILED[@]}" | sed 's/, $//')" >&2
  exit 1
fi
echo "compat: the built provider passed its compatibility subset on Airflow ${VERSIONS[*]%% *}"
if [ -z "${COMPAT_WORK:-}" ]; then  # a temporary work folder (four venvs, ~2.5 GB) is kept only on failure
  closing_table
  trap - EXIT
  rm -rf "$WORK"
fi
