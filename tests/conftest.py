"""Shared fixtures: a small exercise and a way to run it against a scripted couple."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(items: list) -> None:
    """Tests on the audio rig share one loudspeaker and one microphone: with ``-n 2`` they all
    run, one after another, on the same worker (``--dist loadgroup``), beside the rest."""
    import pytest

    for item in items:
        if item.get_closest_marker("audio"):
            item.add_marker(pytest.mark.xdist_group("audio-rig"))
