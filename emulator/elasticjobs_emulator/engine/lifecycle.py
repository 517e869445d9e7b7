"""Execution lifecycles: the terminal/active sets, aggregation of children, and Azure's messages.

Sources for the wording (see docs/emulator-engine.md):
- recorded traffic (Azure/azure-powershell ``ElasticJobExecutionCrudTests/TestJobStartWait.json``):
  root ``"Job execution created."`` while Created and ``"Job execution succeeded."`` at the end;
- REST spec examples (``ListJobExecutionSteps.json``, ``ListJobExecutionTargetsByStep.json``):
  ``"Step 1 succeeded."`` and ``"Step 1 succeeded execution on target (server 'server1',
  database 'database1')."``;
- the job database's ``jobs.job_executions`` message formulas for the other step/target states.
"""

from __future__ import annotations

from collections.abc import Iterable

CREATED = "Created"
IN_PROGRESS = "InProgress"
WAITING_FOR_RETRY = "WaitingForRetry"
WAITING_FOR_CHILDREN = "WaitingForChildJobExecutions"
SUCCEEDED = "Succeeded"
SUCCEEDED_WITH_SKIPPED = "SucceededWithSkipped"
FAILED = "Failed"
TIMED_OUT = "TimedOut"
CANCELED = "Canceled"
SKIPPED = "Skipped"

ACTIVE = frozenset({CREATED, IN_PROGRESS, WAITING_FOR_RETRY, WAITING_FOR_CHILDREN})
TERMINAL = frozenset({SUCCEEDED, SUCCEEDED_WITH_SKIPPED, FAILED, TIMED_OUT, CANCELED, SKIPPED})
#: Terminal lifecycles after which the next step of the job still runs.
CONTINUES = frozenset({SUCCEEDED, SUCCEEDED_WITH_SKIPPED, SKIPPED})

_PROVISIONING = {
    CREATED: "Created",
    IN_PROGRESS: "InProgress",
    WAITING_FOR_RETRY: "InProgress",
    WAITING_FOR_CHILDREN: "InProgress",
    SUCCEEDED: "Succeeded",
    SUCCEEDED_WITH_SKIPPED: "Succeeded",
    SKIPPED: "Succeeded",
    FAILED: "Failed",
    TIMED_OUT: "Failed",
    CANCELED: "Canceled",
}


def is_terminal(lifecycle: str) -> bool:
    """Whether an execution in this lifecycle is finished."""
    return lifecycle in TERMINAL


def provisioning_state(lifecycle: str) -> str:
    """The ARM ``provisioningState`` that goes with a lifecycle."""
    return _PROVISIONING[lifecycle]


def aggregate(children: Iterable[str]) -> str:
    """Lifecycle of a parent whose children all ended with ``children``.

    Precedence: Canceled > Failed > TimedOut; otherwise Skipped when every child was skipped,
    SucceededWithSkipped when some were, Succeeded when none were (and for no children at all).
    """
    seen = set(children)
    active = seen & ACTIVE
    if active:
        raise ValueError(f"cannot aggregate children that are still active: {sorted(active)}")
    for worst in (CANCELED, FAILED, TIMED_OUT):
        if worst in seen:
            return worst
    if seen == {SKIPPED}:
        return SKIPPED
    if SKIPPED in seen or SUCCEEDED_WITH_SKIPPED in seen:
        return SUCCEEDED_WITH_SKIPPED
    return SUCCEEDED


_ROOT_MESSAGES = {
    CREATED: "Job execution created.",
    IN_PROGRESS: "Job execution in progress.",
    WAITING_FOR_CHILDREN: "Job execution waiting for child job executions to complete.",
    SUCCEEDED: "Job execution succeeded.",
    SUCCEEDED_WITH_SKIPPED: "Job execution succeeded with skipped executions on some targets.",
    SKIPPED: "Job execution skipped: a previous execution of this job is still running on its targets.",
    FAILED: "Job execution failed.",
    TIMED_OUT: "Job execution timed out.",
    CANCELED: "Job execution canceled.",
}

_STEP_MESSAGES = {
    CREATED: "Step {step} preparing targets.",
    IN_PROGRESS: "Step {step} evaluating targets.",
    WAITING_FOR_CHILDREN: "Step {step} waiting for execution on targets to complete.",
    WAITING_FOR_RETRY: "Step {step} waiting for retry.",
    SUCCEEDED: "Step {step} succeeded.",
    SUCCEEDED_WITH_SKIPPED: "Step {step} succeeded with skipped executions on some targets.",
    CANCELED: "Step {step} canceled.",
    SKIPPED: "Step {step} skipped executions on targets.",
    FAILED: "Step {step} failed.",
    TIMED_OUT: "Step {step} timed out.",
}

_TARGET_MESSAGES = {
    CREATED: "Step {step} preparing execution for target {where}.",
    IN_PROGRESS: "Step {step} executing on target {where}.",
    WAITING_FOR_RETRY: "Step {step} waiting for retry on target {where}.",
    SUCCEEDED: "Step {step} succeeded execution on target {where}.",
    CANCELED: "Step {step} canceled execution on target {where}.",
    SKIPPED: (
        "Step {step} skipped execution because a previous execution of this job is still running "
        "on this target {where}."
    ),
    TIMED_OUT: "Step {step} timed out on target {where}.",
    FAILED: "Step {step} failed execution on target {where}.",
}


def root_message(lifecycle: str, detail: str | None = None) -> str:
    """``lastMessage`` of a job (root) execution, with an optional explanation appended."""
    message = _ROOT_MESSAGES[lifecycle]
    return f"{message} {detail}" if detail else message


def step_message(step_id: int, lifecycle: str) -> str:
    """``lastMessage`` of a step execution."""
    return _STEP_MESSAGES[lifecycle].format(step=step_id)


def describe_target(server: str, database: str | None) -> str:
    """``(server 's', database 'd')`` as Azure's messages name a target."""
    if database is None:
        return f"(server '{server}')"
    return f"(server '{server}', database '{database}')"


def target_message(
    step_id: int, lifecycle: str, server: str, database: str | None, error: str | None = None
) -> str:
    """``lastMessage`` of a target execution; ``error`` (the SQL error) follows when given."""
    message = _TARGET_MESSAGES[lifecycle].format(step=step_id, where=describe_target(server, database))
    return f"{message} {error}" if error else message
