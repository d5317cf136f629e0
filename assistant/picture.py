"""The practice made visible: speaking share per partner per session, and who spoke when.

Equality in the conversation (seed 002) as a picture a couple or a coach can look at. Drawn with
matplotlib (imported only here, only when a picture is asked for) on its file backend.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from assistant.engine.texts import Texts
from assistant.history import SessionRecord

COLOURS = ("#1f77b4", "#ff7f0e")
"""The first and the second partner (distinct also in grey)."""
HATCHES = ("", "//")
"""A pattern for the second partner, so the picture works without colour."""


def draw_history(records: list[SessionRecord], path: Path, texts: Texts) -> None:
    """Draw ``records`` (oldest first) into ``path``, readable by its owner only: PNG, or the
    format its suffix names (.svg, .pdf, .jpg, ...); ValueError for a format there is none of."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = records[-1].names
    fig, (shares, turns) = plt.subplots(2, 1, figsize=(9, 7), constrained_layout=True)
    kind = path.suffix.lstrip(".").lower() or "png"
    if kind not in fig.canvas.get_supported_filetypes():
        plt.close(fig)
        raise ValueError(f"cannot draw a .{kind} picture; use a file name ending in .png, "
                         ".svg or .pdf")
    labels = [f"{r.started:%d-%m}\n{r.exercise}" for r in records]
    bottom = [0.0] * len(records)
    for index, name in enumerate(names):
        values = [r.share().get(name, 0.0) * 100 for r in records]
        shares.bar(labels, values, bottom=bottom, color=COLOURS[index], hatch=HATCHES[index],
                   edgecolor="black", label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    shares.axhline(50, color="black", linewidth=0.8, linestyle="--")
    shares.set_ylim(0, 100)
    shares.set_ylabel(f"% {texts.line('history_share_axis')}")
    shares.set_title(texts.line("history_share_title"))
    shares.legend(loc="upper right")
    last = records[-1]
    for index, name in enumerate(names):
        spans = [(start / 60, (end - start) / 60) for who, start, end in last.turns
                 if who == name]
        turns.broken_barh(spans, (index * 10 + 1, 8), facecolors=COLOURS[index],
                          hatch=HATCHES[index], edgecolor="black")
    turns.set_yticks([5, 15], labels=list(names))
    turns.set_xlim(0, max(last.seconds / 60, 0.1))
    turns.set_xlabel(texts.line("history_turns_axis"))
    turns.set_title(f"{texts.line('history_turns_title')} ({last.started:%d-%m %H:%M})")
    fd, tmp = tempfile.mkstemp(prefix=".picture-", suffix=f".{kind}", dir=path.parent or ".")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
