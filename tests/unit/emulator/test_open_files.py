"""The emulator's own open-file limit: raised towards the hard limit, never lowered, named in errors."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator

import pytest

from elasticjobs_emulator import open_files


@pytest.fixture
def limit() -> Iterator[tuple[int, int]]:
    """The test process's open-file limit, restored afterwards."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield saved
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_the_soft_limit_rises_to_the_hard_one_up_to_what_the_emulator_wants(limit: tuple[int, int]) -> None:
    soft, hard = limit
    if soft < 200:
        pytest.skip("needs a soft limit of at least 200 to lower it for the test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    wanted = open_files.WANTED_OPEN_FILES
    expected = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    assert open_files.raise_open_file_limit() == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _limit_to_150() -> None:
    """In the child: soft and hard limit 150, as a container may impose."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (150, 150))


def test_a_soft_limit_already_at_the_hard_one_stays() -> None:
    # In a child process: a lowered hard limit cannot be raised again without privileges.
    probe = "from elasticjobs_emulator import open_files; print(open_files.raise_open_file_limit())"
    child = subprocess.run(
        [sys.executable, "-c", probe], preexec_fn=_limit_to_150, capture_output=True, text=True, check=True
    )
    assert child.stdout.strip() == "150"


def test_the_description_names_the_limit_and_the_fix() -> None:
    text = open_files.describe_use()
    soft = open_files.soft_limit()
    assert f"may have {'unlimited' if soft is None else soft} files open (ulimit -n)" in text
    assert "raise the open-file limit" in text
