"""``python -m scripts.bench``: run the benchmark."""

import sys

from scripts.bench.main import main

sys.exit(main())
