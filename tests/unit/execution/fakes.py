"""A scripted hook and a fake clock for the worker-side waits of the start operator and the sensor."""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

from azure.core.exceptions import HttpResponseError


class FakeHook:
    """Answers get_execution from a script of lifecycles or exceptions; records cancels."""

    def __init__(self, script):
        self.script = list(script)
        self.cancelled = []

    def get_execution(self, job_name, execution_id):
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return SimpleNamespace(name=execution_id, lifecycle=step, last_message=None)

    def list_target_executions(self, job_name, execution_id):
        return []

    def cancel_execution(self, job_name, execution_id):
        self.cancelled.append(execution_id)

    def close(self):
        pass


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0
        self.sleeps = []

    def time(self):
        return self.now

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def install_clock(monkeypatch, *modules: ModuleType) -> FakeClock:
    """Replace each of ``modules``' ``time`` with one :class:`FakeClock` for the test."""
    fake = FakeClock()
    for module in modules:
        monkeypatch.setattr(module, "time", fake)
    return fake


def http_error(status):
    err = HttpResponseError(message=f"status {status}")
    err.status_code = status
    return err


def context():
    return {"ti": SimpleNamespace(xcom_push=lambda **kw: None)}
