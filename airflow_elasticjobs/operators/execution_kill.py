"""When the start operator's worker is killed while waiting: cancel only when a user ended the task.

The supervisor also sends SIGTERM when heartbeats fail and Kubernetes when it evicts a pod; then the
task instance is still ``running`` and the execution keeps running, for the retry to re-attach
(``docs/execution-semantics.md``).

The task runner calls ``on_kill()`` from its SIGTERM handler, on the main thread, which the signal
may have interrupted in the middle of a request to the supervisor (an XCom push, a connection
lookup): the channel's lock (``CommsDecoder.send`` in ``airflow/sdk/execution_time/comms.py``) stays
held until the handler returns. A state read made inside the handler would wait for that lock until
it gave up, and a user's mark failed would cancel nothing. So the decision runs on a thread of its
own (:func:`decide_after_kill`) and the handler returns at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from airflow_elasticjobs.task_instance_state import StateUnknown, TaskInstanceRef, read_state_within

#: How long the state read may take: the supervisor escalates SIGTERM to SIGKILL after 5 s
#: (airflow/sdk/execution_time/supervisor.py, ``kill``), and the cancel request needs time too.
STATE_READ_SECONDS = 2.0


def decide_after_kill(
    task_instance: TaskInstanceRef, execution_id: str, log: Any, cancel: Callable[[str], None]
) -> threading.Thread:
    """Run :func:`cancel_if_user_ended` on a daemon thread, started here; return that thread.

    For a SIGTERM handler: the interrupted main thread gets the supervisor channel back as soon as
    the handler returns, and the read proceeds then.
    """
    thread = threading.Thread(
        target=cancel_if_user_ended,
        args=(task_instance, execution_id, log, cancel),
        name="elasticjobs-kill-decision",
        daemon=True,
    )
    thread.start()
    return thread


def cancel_if_user_ended(
    task_instance: TaskInstanceRef, execution_id: str, log: Any, cancel: Callable[[str], None]
) -> None:
    """Read the task instance's state; ``cancel(reason)`` when a user ended it, else log why not.

    The states that do cancel are
    :data:`~airflow_elasticjobs.task_instance_state.USER_ENDED_WHILE_RUNNING`; a state that cannot
    be read cancels nothing.

    :param log: the operator's logger (``self.log``).
    """
    try:
        reading = read_state_within(task_instance, STATE_READ_SECONDS)
    except StateUnknown as err:
        log.warning(
            "Task killed; not cancelling execution %s because its state is unknown (%s); "
            "a retry re-attaches to it",
            execution_id,
            err,
        )
        return
    if reading.user_ended_running_task():
        cancel(f"the task was killed and the task instance {reading.describe()}")
    else:
        log.warning(
            "Task killed while the task instance %s (no user action: lost heartbeat, evicted pod "
            "or a newer try); execution %s keeps running and a retry re-attaches to it",
            reading.describe(),
            execution_id,
        )
