"""Shared fixtures: a small exercise and a way to run it against a scripted couple."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
