#!/usr/bin/env python3
"""Run the benchmark (the package scripts/bench/): ``scripts/bench.py [--quick] [--only S]``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bench.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
