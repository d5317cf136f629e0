"""Screenshot of the live display, made from a pseudo-terminal: `samenspraak timer` runs in a
pty of 90x30, a few keys are pressed, the terminal stream is interpreted by pyte and the screen
is written as text (stdout) and as an SVG (docs/display.svg, through rich's recording console).

    .venv/bin/pip install -e '.[docs]' && .venv/bin/python scripts/screenshot-display.py
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 90, 30


def main() -> None:
    main_fd, child_fd = os.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(COLS), "LINES": str(ROWS),
           "NO_COLOR": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "assistant", "timer", "--names", "Anna", "Ben", "--turn", "2m",
         "--mirror", "1m", "--input", "text"],
        stdin=child_fd, stdout=child_fd, stderr=child_fd, cwd=ROOT, env=env,
        start_new_session=True)
    os.close(child_fd)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([main_fd], [], [], 0.05)[0]:
                try:
                    stream.feed(os.read(main_fd, 65536))
                except OSError:  # the timer ended and closed its terminal
                    return

    pump(2.0)
    os.write(main_fd, b"+")  # 30 seconds more on Anna's turn
    pump(3.2)
    lines = [line.rstrip() for line in screen.display]
    os.write(main_fd, b"q")
    pump(1.0)
    child.wait(timeout=10)
    os.close(main_fd)
    while lines and not lines[-1]:
        lines.pop()
    print("\n".join(lines))
    console = Console(record=True, width=COLS, file=open(os.devnull, "w"))
    console.print(Text("\n".join(lines)))
    console.save_svg(str(ROOT / "docs" / "display.svg"), title="samenspraak timer")


if __name__ == "__main__":
    main()
