"""Long runs: an eight-hour session on the virtual clock, and a short soak on the audio rig (the
30-minute one runs from the benchmark: ``python -m scripts.bench.soak``)."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from simkit import exercise, say, silence, talk

from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.simulate import Scenario, simulate

HOURS = 8
ROUND = ('[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\nseconds = 300\n'
         '[[step]]\nkind = "mirror"\ntext = "{listener}, wat hoorde je?"\nseconds = 60\n'
         '[[step]]\nkind = "swap"\n'
         '[[step]]\nkind = "discuss"\ntext = "Praat samen."\nseconds = 240\n')
"""About ten minutes: a turn, a mirror, a swap and a shared discussion."""
COUPLE = (talk(100), say("herhaal"), talk(60), say("pauze", after=5), silence(200),
          say("verder"), talk(30), say("klaar"), talk(40), say("klaar"), say("nee"),
          talk(20), say("klaar"), say("ja"), talk(120), say("langzamer"), talk(60))
"""What the couple does, over and over: talk, commands, a pause, a mirror that is off once."""


def test_an_eight_hour_session_on_the_virtual_clock_ends_in_bounded_memory() -> None:
    rounds = HOURS * 60 // 9
    ex = exercise(ROUND * rounds, minutes=HOURS * 60)
    scenario = Scenario(COUPLE * (rounds * 3))
    marks: dict[int, int] = {}
    counted = [0]

    def emit(line: dict) -> None:  # memory noted once an hour (the log itself is not kept)
        counted[0] += 1
        hour = int(line["t"] // 3600)
        if hour not in marks:
            marks[hour] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    started = time.monotonic()
    try:
        session = simulate(ex, scenario, ("Anna", "Ben"), load_texts("nl"), Timing(), emit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    took = time.monotonic() - started
    assert session.done and session.end_reason == "finished"
    assert session.now() >= HOURS * 3600, session.now() / 3600
    assert took < 60, f"eight virtual hours took {took:.0f} s"
    growth = marks[max(marks)] - marks[1]
    assert growth < 2_000_000, f"memory grew {growth / 1e6:.1f} MB from hour 1 to hour {max(marks)}"
    assert peak < 20_000_000
    assert counted[0] > 1000


SHORT_RSS_MB = 25.0
"""RSS a one-minute soak may still gain: the recognizer's buffers grow over the first utterances
and level off after some minutes (the 30-minute soak judges flatness with 10 MB)."""


@pytest.mark.audio
def test_a_short_soak_on_the_rig_stays_flat() -> None:
    from test_audio_rig import require_pulse

    from scripts.bench.soak import flat, soak, summary

    require_pulse()
    result = soak(minutes=1.0, sample_seconds=5)
    assert flat(result, rss_mb=SHORT_RSS_MB), summary(result)
    assert result["heard"] >= 1 and result["network_attempts"] == 0
