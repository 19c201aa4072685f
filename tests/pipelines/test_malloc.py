"""pipelines/malloc.py: the settings reach this process and the processes it starts (the SDK workers)."""

from __future__ import annotations

import subprocess
import sys

from pipelines import malloc


def test_settings_reach_this_process_and_its_children(monkeypatch):
    for key in malloc.ENV:
        monkeypatch.delenv(key, raising=False)
    assert malloc.tune_malloc()  # glibc here: mallopt accepted both
    show = "import os; print(os.environ['MALLOC_ARENA_MAX'], os.environ['MALLOC_MMAP_THRESHOLD_'])"
    child = subprocess.run(
        [sys.executable, "-c", show],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.split() == [malloc.ENV["MALLOC_ARENA_MAX"], malloc.ENV["MALLOC_MMAP_THRESHOLD_"]]


def test_a_value_the_user_set_is_kept_and_a_bad_one_is_refused(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    assert malloc.tune_malloc()
    assert malloc.os.environ["MALLOC_ARENA_MAX"] == "4"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "many")
    assert not malloc.tune_malloc()
