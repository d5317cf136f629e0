"""The live drivers: the prompt player on its own thread, the line reader, text mode in-process."""

from __future__ import annotations

import io
import os
import threading
import time

from simkit import exercise

from assistant.engine.clock import VirtualClock
from assistant.engine.messages import (
    Chime,
    CutSpeech,
    Heard,
    Intent,
    KeyCommand,
    PlayChime,
    Proceed,
    PromptPlayed,
    Say,
    SetPace,
    Stop,
)
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.live import TYPED_KEYS, LineReader, PromptPlayer, run_text


class BlockingSpeaker:
    """Speaks until released (like a real loudspeaker); records what it did."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.done: list[str] = []
        self.interrupted = 0
        self.release = threading.Event()
        self.speaking = threading.Event()
        self._fail_on = fail_on

    def say(self, text: str, keep: bool = True) -> None:
        self.speaking.set()
        if text == self._fail_on:
            raise RuntimeError("the engine broke")
        self.release.wait(5)
        self.done.append(text)

    def chime(self, chime: Chime) -> None:
        self.done.append(f"♪{chime.value}")

    def set_pace(self, factor: float) -> None:
        self.done.append(f"pace {factor}")

    def prepare(self, texts: object) -> None:
        pass

    def interrupt(self) -> None:
        self.interrupted += 1
        self.release.set()

    def close(self) -> None:
        pass


class Reports:
    def __init__(self) -> None:
        self.items: list[object] = []
        self.arrived = threading.Condition()

    def put(self, item: object) -> None:
        with self.arrived:
            self.items.append(item)
            self.arrived.notify_all()

    def wait_for(self, count: int) -> list[object]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.items) >= count, timeout=5), self.items
            return list(self.items)


def test_the_player_never_blocks_and_reports_each_prompt_in_order() -> None:
    speaker, reports = BlockingSpeaker(), Reports()
    player = PromptPlayer(speaker, reports.put)
    started = time.monotonic()
    player.perform(Say("Eén.", 1))
    player.perform(PlayChime(Chime.TURN_START, 2))
    player.perform(SetPace(1.1))
    player.perform(Say("Twee.", 3))
    assert time.monotonic() - started < 0.5  # handed over, not spoken, on this thread
    assert speaker.speaking.wait(5) and reports.items == []
    speaker.release.set()
    assert reports.wait_for(3) == [PromptPlayed(1), PromptPlayed(2), PromptPlayed(3)]
    assert speaker.done == ["Eén.", "♪turn_start", "pace 1.1", "Twee."]
    player.close()


def test_a_cut_stops_the_prompt_and_drops_the_queued_ones() -> None:
    speaker, reports = BlockingSpeaker(), Reports()
    player = PromptPlayer(speaker, reports.put)
    player.perform(Say("Een lange zin.", 1))
    player.perform(Say("Nog een.", 2))
    assert speaker.speaking.wait(5)
    player.perform(CutSpeech())
    player.perform(Say("Tot ziens.", 3))
    assert player.drain(5)
    assert speaker.interrupted == 1
    assert "Nog een." not in speaker.done and speaker.done[-1] == "Tot ziens."
    assert PromptPlayed(3) in reports.items and PromptPlayed(2) not in reports.items
    player.close()


def test_printed_lines_are_never_taken_back() -> None:
    speaker, reports = BlockingSpeaker(), Reports()
    player = PromptPlayer(speaker, reports.put, can_cut=False)
    player.perform(Say("Welkom.", 1))
    player.perform(Say("Uitleg.", 2))
    player.perform(CutSpeech())  # typed input ran ahead of the screen, then stopped
    player.perform(Say("We stoppen nu.", 3))
    speaker.release.set()
    assert player.drain(5)
    assert speaker.done == ["Welkom.", "Uitleg.", "We stoppen nu."] and speaker.interrupted == 0
    player.close()


def test_a_failing_speaker_still_reports_so_the_session_goes_on() -> None:
    speaker, reports = BlockingSpeaker(fail_on="Kapot."), Reports()
    speaker.release.set()
    player = PromptPlayer(speaker, reports.put)
    player.perform(Say("Kapot.", 1))
    player.perform(Say("Heel.", 2))
    assert reports.wait_for(2) == [PromptPlayed(1), PromptPlayed(2)]
    assert speaker.done == ["Heel."]
    player.close()


def test_one_line_reader_for_the_life_of_a_session() -> None:
    reports = Reports()
    read_end, write_end = os.pipe()  # stays open: the reading thread stays alive meanwhile
    stream = os.fdopen(read_end, encoding="utf-8")
    reader = LineReader(stream, reports.put, keys=TYPED_KEYS)
    before = threading.active_count()
    for _ in range(5):  # the microphone is lost five times
        reader.start()
    os.write(write_end, b"p\n\nx\nj\n")
    assert reports.wait_for(3) == [KeyCommand(Intent.PAUSE), Proceed(), KeyCommand(Intent.YES)]
    assert threading.active_count() == before + 1 and reader.started
    os.close(write_end)


def test_typed_lines_are_utterances_and_the_end_of_input_stops() -> None:
    reports = Reports()
    LineReader(io.StringIO("klaar\n\n"), reports.put, at_end=Stop()).start()
    assert reports.wait_for(3) == [Heard("klaar"), Proceed(), Stop()]


class FastClock(VirtualClock):
    """A virtual clock that moves on by itself while the driver waits on its queue."""

    def now(self) -> float:
        self.advance(0.5)
        return super().now()


def test_text_mode_runs_in_process_on_typed_lines() -> None:
    steps = ('[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\nseconds = 60\n'
             '[[step]]\nkind = "ask"\nto = "both"\ntext = "Gaat het?"\n')
    out = io.StringIO()
    summary = run_text(exercise(steps), load_texts("nl"), ("Anna", "Ben"), FastClock(),
                       Timing(silence_ends_turns=False), stdin=io.StringIO("\nja\n"),
                       out=out).summary()
    printed = out.getvalue().splitlines()
    assert "» Anna, vertel." in printed and "» Gaat het?" in printed
    assert printed[-1] == "» " + load_texts("nl").lines("goodbye")[-1]
    assert summary.speaking_seconds == {"Anna": 0.0, "Ben": 0.0}


def test_an_event_log_that_cannot_be_written_ends_the_log_not_the_session(caplog) -> None:
    from assistant.engine.messages import PhaseChanged
    from assistant.live import EventLog

    class FullDisk(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            FullDisk.writes += 1
            raise OSError(28, "No space left on device")

    log = EventLog(FullDisk(), VirtualClock())
    for _ in range(3):
        log(PhaseChanged("speaking"))
    assert FullDisk.writes == 1  # tried once, then the log is closed
    assert [r.getMessage() for r in caplog.records] == [
        "the event log stops here, it cannot be written: [Errno 28] No space left on device"]


def test_ctrl_c_while_the_goodbye_plays_keeps_the_session() -> None:
    from assistant.engine.clock import RealClock
    from assistant.engine.session import Session
    from assistant.live import LiveInputs, run_live

    class Player:
        """Hears every prompt at once; the wait for the goodbye is cut by a Ctrl-C."""

        def __init__(self, inputs: LiveInputs) -> None:
            self.inputs, self.cuts, self.closed = inputs, 0, False

        def perform(self, effect: object) -> None:
            prompt = getattr(effect, "prompt", None)
            if prompt is not None:
                self.inputs.put(PromptPlayed(prompt))

        def cut(self) -> None:
            self.cuts += 1

        def drain(self) -> bool:
            raise KeyboardInterrupt

        def close(self) -> None:
            self.closed = True

    clock = RealClock()
    ex = exercise('[[step]]\nkind = "say"\ntext = "Hallo."\n')
    session = Session(ex, ("Anna", "Ben"), load_texts("nl"), clock)
    inputs = LiveInputs(clock)
    player = Player(inputs)
    summary = run_live(session, inputs, player)  # type: ignore[arg-type]
    assert session.end_reason == "finished" and summary is not None
    assert player.cuts == 1 and player.closed
