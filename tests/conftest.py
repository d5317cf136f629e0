"""Shared fixtures: a small exercise and a way to run it against a scripted couple."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                 ) -> None:
    """No test writes a history into the real user's home: each gets its own."""
    monkeypatch.setenv("SAMENSPRAAK_HOME", str(tmp_path_factory.mktemp("home")))
