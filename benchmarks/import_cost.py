"""Import cost of the provider and DAG-file parse time, each against a baseline in the same run.

1. Fresh-interpreter import time of every public module the provider registers (hooks, operators,
   sensors, triggers, links, ``get_provider_info()``) minus ``import airflow.sdk`` alone: each
   interpreter times its own imports as CPU time (``process_time``: interpreter start-up excluded,
   and robust to other processes sharing the cores), the variants interleaved, median of ≥ 10 runs,
   after one untimed warm-up run of each variant (smoke size: one run each, no warm-up, so the
   figures include compiling the source: they only show the script still works). Bytecode
   caching is on (into a temporary ``PYTHONPYCACHEPREFIX``) even where the environment sets
   ``PYTHONDONTWRITEBYTECODE``:
   an installed provider has ``.pyc`` files like Airflow's own, so a parse never compiles its source
   (with compiling, the provider's figure was 3-4x its steady state). Target ≤ 30 ms. For scale,
   the same is measured for eager imports of
   ``azure.mgmt.sql`` (+ ``.aio``) and ``azure.identity`` (+ ``.aio``): what a provider importing
   its SDKs at module level would add to every parse; and for Airflow's own ``airflow.triggers.base``
   and ``common.sql`` hook module, which the registered trigger and SQL hook must subclass from.
   Each interpreter reports the CPU time of the imports after its own ``import airflow.sdk``.
2. Parse time (CPU) of ``example_dags/elastic_jobs_tutorial.py`` versus a DAG of the same shape (same
   task ids and dependencies) built from ``EmptyOperator``: the cost our operators add to a parse.

Run: ``python -m benchmarks.import_cost [--smoke]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from benchmarks.common import parse_args, report

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL_DAG = ROOT / "example_dags" / "elastic_jobs_tutorial.py"
TARGET_MS = 30.0
#: What a provider importing its SDKs at module level would pull into every parse.
EAGER_REFERENCE = "azure.mgmt.sql,azure.mgmt.sql.aio,azure.identity,azure.identity.aio"
#: Airflow's own modules that registered provider classes must subclass (``BaseTrigger``, ``DbApiHook``).
AIRFLOW_BASES = "airflow.triggers.base,airflow.providers.common.sql.hooks.sql"

_TIME_IMPORTS = r"""
import importlib, json, sys, time
w0, t0 = time.perf_counter(), time.process_time()
import airflow.sdk
t1 = time.process_time()
for name in filter(None, sys.argv[1].split(",")):
    module = importlib.import_module(name)
    if name == "airflow_elasticjobs":
        module.get_provider_info()
t2 = time.process_time()
print(json.dumps({"cpu": t2 - t0, "after_sdk": t2 - t1, "wall": time.perf_counter() - w0}))
"""

_TIME_DAG_FILE = r"""
import importlib.util, json, sys, time
import airflow.sdk
path = sys.argv[1]
t0 = time.process_time()
spec = importlib.util.spec_from_file_location("bench_dag_file", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t1 = time.process_time()
from airflow.sdk import DAG
dags = [v for v in vars(module).values() if isinstance(v, DAG)]
print(json.dumps({"parse": t1 - t0, "dags": len(dags), "tasks": sum(len(d.tasks) for d in dags)}))
"""

_DAG_SHAPE = r"""
import importlib.util, json, sys
from airflow.sdk import DAG
spec = importlib.util.spec_from_file_location("bench_dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dags = [v for v in vars(module).values() if isinstance(v, DAG)]
print(json.dumps([
    {"dag_id": d.dag_id, "tasks": [[t.task_id, sorted(t.upstream_task_ids)] for t in d.tasks]} for d in dags
]))
"""


def public_modules() -> list[str]:
    """Every module ``get_provider_info()`` registers, plus the package itself (provider info)."""
    from airflow_elasticjobs.provider_info import PROVIDER_INFO

    modules = ["airflow_elasticjobs"]
    for kind in ("hooks", "operators", "sensors", "triggers"):
        for entry in PROVIDER_INFO.get(kind, []):
            modules.extend(entry["python-modules"])
    modules.extend(link.rsplit(".", 1)[0] for link in PROVIDER_INFO.get("extra-links", []))
    return list(dict.fromkeys(modules))


@cache
def _bytecode_env() -> dict[str, str]:
    """The environment of the timed interpreters: bytecode cached in a temporary directory."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="elasticjobs-bench-pyc-")
    return env


def _python(code: str, *args: str) -> Any:
    """Run ``code`` in a fresh interpreter from the repository root; its last stdout line as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=_bytecode_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def existing_modules(modules: list[str]) -> tuple[list[str], list[str]]:
    """Split registered modules into importable ones and ones not written yet."""
    import importlib.util

    present = [m for m in modules if importlib.util.find_spec(m) is not None]
    return present, [m for m in modules if m not in present]


def import_rows(runs: int, *, warm_up: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Interleaved fresh-interpreter CPU timings: SDK alone, SDK + provider, SDK + eager Azure SDKs."""
    modules, missing = existing_modules(public_modules())
    dag_facing = [m for m in modules if m == "airflow_elasticjobs" or ".operators." in m or ".sensors." in m]
    variants = {
        "airflow.sdk alone (baseline)": "",
        "airflow.sdk + operators, sensors, provider info": ",".join(dag_facing),
        "airflow.sdk + provider public modules": ",".join(modules),
        "airflow.sdk + eager Azure SDK imports (reference)": EAGER_REFERENCE,
        "airflow.sdk + Airflow's BaseTrigger and DbApiHook modules (reference)": AIRFLOW_BASES,
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for imports in variants.values() if warm_up else ():  # fills the bytecode cache
        _python(_TIME_IMPORTS, imports)
    for _ in range(runs):
        for name, imports in variants.items():
            samples[name].append(_python(_TIME_IMPORTS, imports))
    baseline = statistics.median(s["cpu"] * 1000 for s in samples["airflow.sdk alone (baseline)"])
    rows = [
        {
            "variant": name,
            "runs": runs,
            "median_ms": statistics.median(s["cpu"] * 1000 for s in values),
            "min_ms": min(s["cpu"] * 1000 for s in values),
            # Measured in each interpreter after its own `import airflow.sdk`: free of the run-to-run
            # spread of the ~900 ms SDK import, which a difference of two medians carries.
            "extra_over_sdk_ms": statistics.median(s["after_sdk"] * 1000 for s in values),
            "difference_of_medians_ms": statistics.median(s["cpu"] * 1000 for s in values) - baseline,
        }
        for name, values in samples.items()
    ]
    dag_facing_ms, provider_ms, eager_ms, bases_ms = (row["extra_over_sdk_ms"] for row in rows[1:])
    summary = {
        "provider_import_ms": provider_ms,
        "dag_facing_import_ms": dag_facing_ms,
        "airflow_bases_import_ms": bases_ms,
        "target_ms": TARGET_MS,
        "meets_target": provider_ms <= TARGET_MS,
        "eager_sdk_over_provider_ratio": eager_ms / max(provider_ms, 0.1),
        "modules_measured": len(modules),
        "modules_not_written_yet": missing,
    }
    return rows, summary


def empty_shape_dag(shape: list[dict[str, Any]]) -> str:
    """Source of a DAG file with the same DAG ids, task ids and dependencies, all ``EmptyOperator``."""
    lines = [
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "from airflow.sdk import DAG",
    ]
    for index, dag in enumerate(shape):
        lines.append(f"with DAG({dag['dag_id']!r}, schedule=None) as dag_{index}:")
        lines.append("    tasks = {}")  # a DAG with no tasks still has a valid body
        for task_id, _ in dag["tasks"]:
            lines.append(f"    tasks[{task_id!r}] = EmptyOperator(task_id={task_id!r})")
        for task_id, upstream in dag["tasks"]:
            for parent in upstream:
                lines.append(f"    tasks[{parent!r}] >> tasks[{task_id!r}]")
    return "\n".join(lines) + "\n"


def parse_rows(runs: int, *, warm_up: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Parse time of the tutorial DAG file vs the same shape from EmptyOperators (interleaved)."""
    if not TUTORIAL_DAG.exists():
        return [], {"dag_parse": f"skipped: {TUTORIAL_DAG.relative_to(ROOT)} does not exist yet"}
    try:
        shape = _python(_DAG_SHAPE, str(TUTORIAL_DAG))
    except RuntimeError as err:
        last = str(err).strip().splitlines()[-1]
        return [], {"dag_parse": f"skipped: {TUTORIAL_DAG.relative_to(ROOT)} does not import yet ({last})"}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_shape.py"
        empty.write_text(empty_shape_dag(shape))
        files = {
            "tutorial DAG (provider operators)": TUTORIAL_DAG,
            "same shape, EmptyOperator (baseline)": empty,
        }
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
        for path in files.values() if warm_up else ():  # fills the bytecode cache
            _python(_TIME_DAG_FILE, str(path))
        for _ in range(runs):
            for name, path in files.items():
                samples[name].append(_python(_TIME_DAG_FILE, str(path)))
    rows = [
        {
            "variant": name,
            "runs": runs,
            "median_ms": statistics.median(s["parse"] * 1000 for s in values),
            "min_ms": min(s["parse"] * 1000 for s in values),
            "tasks": values[0]["tasks"],
        }
        for name, values in samples.items()
    ]
    return rows, {"dag_parse_ratio_tutorial_over_empty": rows[0]["median_ms"] / rows[1]["median_ms"]}


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    runs, warm_up = (1, False) if args.smoke else (11, True)
    rows, summary = import_rows(runs, warm_up=warm_up)
    dag_rows, dag_summary = parse_rows(runs, warm_up=warm_up)
    report("import_cost", rows + dag_rows, {**summary, **dag_summary}, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
