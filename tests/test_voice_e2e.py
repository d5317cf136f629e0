"""Real sessions on real audio devices: a PulseAudio null sink as the loudspeaker and a pipe source
as the microphone (scripts/pulse-up). The couple's side is synthesized with espeak-ng and played
into the microphone in real time; the loudspeaker is recorded; the event log says what happened.

These run in every CI run (scripts/test starts the rig). English commands are recognised with
pocketsphinx, which needs no download; when a vosk model is installed the same tests also run
with vosk.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_audio_rig import require_pulse

from assistant.rig.pulse import MicFeeder, Recording, SinkRecorder, point_at_rig, rig_dir
from assistant.rig.signals import tone_purity
from assistant.rig.speech import espeak_pcm

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.audio
FAST_RATE = 300
"""Words per minute of the assistant's speech in these tests."""
QUIET_BEFORE_SPEAKING = 1.0
"""Seconds the loudspeaker is quiet before the couple speaks (a pause between two prompts is
shorter)."""


def recognizers(lang: str) -> list[str]:
    """pocketsphinx always (English); vosk too when its model is installed."""
    found = ["pocketsphinx"] if lang == "en" else []
    if (ROOT / "models" / lang / "am" / "final.mdl").exists():
        found.append("vosk")
    return found


class LiveSession:
    """`samenspraak run` on the rig, with the event log read as it grows."""

    def __init__(self, tmp_path: Path, exercise: Path, lang: str, *args: str) -> None:
        require_pulse()
        point_at_rig()
        self.events_path = tmp_path / "events.jsonl"
        self.recorder = SinkRecorder()
        self.feeder = MicFeeder()
        env = {**os.environ, "SAMENSPRAAK_CACHE": str(tmp_path / "cache"),
               "XDG_RUNTIME_DIR": str(rig_dir()), "PYTHONUNBUFFERED": "1"}
        # The assistant speaks at twice the calm default: the flow is what is tested here,
        # and the couple's side waits for the loudspeaker to fall quiet before it speaks.
        self.command = [sys.executable, "-m", "assistant", "run", "--file", str(exercise),
                        "--lang", lang, "--names", "Anna", "Ben", "--rate", str(FAST_RATE),
                        "--events", str(self.events_path), *args]
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> LiveSession:
        self.feeder.start()  # the pipe source only produces samples while something writes
        self.recorder.start()
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, text=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.feeder.stop(check=False)
        self.recorder.stop()

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_for(self, what: Callable[[dict], bool], timeout: float = 60.0,
                 after: int = 0) -> dict:
        """The first event (from index ``after`` on) that matches; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events()[after:]:
                if what(event):
                    return event
            assert self.process is not None
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout} s; log: {self.events()}; "
                             f"stderr: {self._stderr()}")

    def phase(self, name: str, speaker: str | None = None, timeout: float = 60.0) -> dict:
        """Wait for a phase (the first one from the most recent phase change on)."""
        mark = max((i for i, e in enumerate(self.events()) if e["type"] == "phase"), default=0)
        return self.wait_for(lambda e: e["type"] == "phase" and e["phase"] == name
                             and (speaker is None or e.get("speaker") == speaker),
                             timeout, after=mark)

    def say(self, text: str, voice: str, expect: str | None = None, tries: int = 3,
            quiet: float = QUIET_BEFORE_SPEAKING) -> None:
        """Speak into the microphone once the loudspeaker is quiet; repeat like a person would
        when the assistant does not react."""
        pcm = espeak_pcm(text, voice=voice)
        for _ in range(tries):
            self.recorder.wait_quiet(quiet)
            mark = len(self.events())
            self.feeder.play(pcm)
            if expect is None:
                return
            try:
                self.wait_for(lambda e: e["type"] == "heard" and e["intent"] == expect,
                              timeout=6, after=mark)
                return
            except AssertionError:
                continue
        raise AssertionError(f"'{text}' was never heard as {expect}: {self.events()}")

    def interrupt(self) -> None:
        """Ctrl-C, as a user at the terminal would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60.0) -> tuple[list[dict], Recording, str]:
        assert self.process is not None
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert self.process.returncode == 0, self._stderr()
        return self.events(), self.recorder.stop(), out

    def _stderr(self) -> str:
        if self.process is None or self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()[-2000:]


def phases(events: list[dict]) -> list[str]:
    return [e["phase"] for e in events if e["type"] == "phase"]


def turn_start_chimes(recording: Recording) -> list[float]:
    """Times at which the loudspeaker played the turn-start chime: E5, then A5 (pure tones)."""
    window, step = 0.1, 0.05
    e5: list[float] = []
    found: list[float] = []
    for start, end in recording.stretches(min_gap=0.05):
        t = start
        while t + window <= end:
            pcm = recording.between(t, t + window)
            if tone_purity(pcm, 659.3) > 0.8:
                e5.append(t)
            elif tone_purity(pcm, 880.0) > 0.8 and any(0 < t - e < 0.35 for e in e5):
                if not found or t - found[-1] > 1.0:
                    found.append(t)
            t += step
    return found


@pytest.mark.parametrize("recognizer", recognizers("en"))
def test_spoken_commands_drive_a_real_session(tmp_path: Path, recognizer: str) -> None:
    live = LiveSession(tmp_path, DATA / "e2e-en.toml", "en", "--recognizer", recognizer,
                       "--duration", "silence=8")
    with live:
        live.phase("speaking")
        live.say("I had a long day at work and I felt tired", "en-us")
        live.say("we are done", "en-us", expect="done")
        live.phase("mirroring")
        live.say("we are done", "en-us", expect="done")
        live.phase("confirming")
        live.say("no", "en-us", expect="no")
        live.phase("clarifying")
        live.say("wait a moment", "en-us", expect="pause")
        live.phase("paused")
        live.say("let's go on", "en-us", expect="resume")
        live.phase("clarifying")
        live.say("let's stop", "en-us", expect="stop")
        events, recording, out = live.finish()
    assert phases(events) == ["intro", "speaking", "mirroring", "confirming", "clarifying",
                              "paused", "clarifying", "closing", "done"]
    assert [e for e in events if e["type"] == "end"][0]["reason"] == "stopped"
    summary = events[-1]
    assert summary["type"] == "summary"
    assert summary["mirror_attempts"] == 1 and summary["mirrors_confirmed"] == 0
    assert summary["speaking_seconds"]["Anna"] > 2.0
    assert "Summary" in out
    # the assistant's speech and its chimes are in what the loudspeaker played
    sound = sum(end - start for start, end in recording.stretches())
    assert sound > 15.0, recording.stretches()
    # a turn starts with a chime, and so does a floor that comes back from a pause
    assert len(turn_start_chimes(recording)) >= 2


def test_dutch_commands_with_the_pocketsphinx_dictionary(tmp_path: Path) -> None:
    """The Dutch words through the real microphone path; the English test covers the rest of
    the flow (mirror again, confirm, swap, chimes)."""
    live = LiveSession(tmp_path, DATA / "e2e-nl-commands.toml", "nl", "--recognizer",
                       "pocketsphinx", "--duration", "silence=10")
    with live:
        live.phase("speaking", speaker="Anna")
        live.say("ik had een lange dag op mijn werk en ik was erg moe", "nl")
        live.say("ik ben klaar", "nl", expect="done")
        live.phase("mirroring")
        live.say("wacht even", "nl", expect="pause")
        live.phase("paused")
        live.say("ga door", "nl", expect="resume")
        live.phase("mirroring")
        live.say("ik ben klaar", "nl", expect="done")
        live.phase("confirming")
        live.say("klopt niet", "nl", expect="no")
        live.phase("clarifying")
        live.say("ik ben klaar", "nl", expect="done")
        live.phase("mirroring")
        live.interrupt()  # Ctrl-C: ends kindly, with the summary
        events, _, _ = live.finish()
    assert phases(events) == ["intro", "speaking", "mirroring", "paused", "mirroring",
                              "confirming", "clarifying", "mirroring", "closing", "done"]
    assert events[-2]["reason"] == "stopped"
    assert events[-1]["mirror_attempts"] == 2 and events[-1]["mirrors_confirmed"] == 0
    assert events[-1]["speaking_seconds"]["Anna"] > 2.0


def test_silence_and_speech_set_the_pace_without_a_recognizer(tmp_path: Path) -> None:
    live = LiveSession(tmp_path, DATA / "e2e-nl.toml", "nl", "--recognizer", "none",
                       "--duration", "silence=5", "--duration", "nudge=3")
    with live:
        live.phase("speaking", speaker="Anna")
        nudge = live.wait_for(lambda e: e.get("text") == "Neem je tijd.", timeout=30)
        ended = live.wait_for(lambda e: e.get("text") == "Dank je, Anna.", timeout=30)
        live.phase("speaking", speaker="Ben")
        # quiet longer: on the rig a pause between two prompts can last 1.6 s (its stream
        # wakes slowly after silence); the nudge comes 3 s after the last prompt
        live.say("ik vond het fijn dat je vandaag naar me luisterde, echt heel fijn", "nl",
                 quiet=2.2)
        spoke_until = time.monotonic()
        ben_end = live.wait_for(lambda e: e.get("text") == "Dank je, Ben.", timeout=30)
        ben_end_wall = time.monotonic()
        events, recording, _ = live.finish()
    assert 1.6 <= ended["t"] - nudge["t"] <= 2.8, (nudge, ended)
    # Ben's turn ended 5 s after his speech, not at its 30 s limit
    assert ben_end_wall - spoke_until < 8.5
    summary = events[-1]
    assert summary["speaking_seconds"]["Anna"] == 0
    assert 2.0 < summary["speaking_seconds"]["Ben"] < 8.0
    assert [e["reason"] for e in events if e["type"] == "end"] == ["finished"]
    assert not [e for e in events if e["type"] == "timer"], "turns ended on silence, not time"
    said = [e["text"] for e in events if e["type"] == "say"]
    assert sum("toetsen" in s for s in said) == 1, "says once that keys work instead"
    assert recording.seconds > 5 and ben_end["t"] > ended["t"]


def test_an_agreement_in_the_couples_own_voice_is_played_back_next_time(tmp_path: Path) -> None:
    from assistant.audio import read_wav
    from assistant.history import History

    home = tmp_path / "home"
    first = LiveSession(tmp_path / "one", DATA / "e2e-en-agree.toml", "en", "--recognizer",
                        "pocketsphinx", "--duration", "silence=3", "--home", str(home))
    (tmp_path / "one").mkdir()
    with first:
        first.phase("agreeing")
        first.say("ten minutes every evening without phones", "en-us")
        first.wait_for(lambda e: e.get("text") == "May I keep your agreement, only on this "
                       "computer?", timeout=30)
        first.say("that's right", "en-us", expect="yes")
        first.finish()
    with History(home) as history:
        (record,) = history.sessions()
    (name,) = record.recordings
    assert name is not None and stat.S_IMODE((home / "recordings" / name).stat().st_mode) == 0o600
    kept = read_wav(home / "recordings" / name)
    seconds = len(kept.pcm) / 2 / kept.rate
    assert 1.0 < seconds < 6.0

    second = LiveSession(tmp_path / "two", DATA / "e2e-en-agree.toml", "en", "--recognizer",
                         "pocketsphinx", "--home", str(home))
    (tmp_path / "two").mkdir()
    with second:
        # the couple's own voice comes out of the loudspeaker: a stretch as long as the
        # recording, between the prompts around it
        deadline, lengths = time.monotonic() + 45, []
        while time.monotonic() < deadline:
            lengths = [end - start for start, end in
                       second.recorder.so_far().stretches(min_gap=0.15)]
            if any(abs(length - seconds) < 0.6 for length in lengths):
                break
            time.sleep(0.5)
        events = second.events()
    assert any(abs(length - seconds) < 0.6 for length in lengths), (seconds, lengths)
    said = [e["text"] for e in events if e["type"] == "say"]
    read_back = said.index("Last time you agreed:")
    assert said[read_back + 1] == record.agreements[0]


def test_a_coachs_recorded_prompt_is_what_the_loudspeaker_plays(tmp_path: Path) -> None:
    from assistant.rig.signals import tone
    from assistant.voicebank import VoiceBank

    home = tmp_path / "home"
    # the coach's "recording" of the first turn's sentence: a pure A4, which nothing else plays
    VoiceBank(home, "en").save("Anna, tell me something.", tone(440.0, 1.2, amplitude=0.3))
    live = LiveSession(tmp_path, DATA / "e2e-en.toml", "en", "--recognizer", "none",
                       "--home", str(home))

    def a4_played() -> bool:
        recording = live.recorder.so_far()
        for start, end in recording.stretches(min_gap=0.05):
            t = start
            while t + 0.1 <= end:
                if tone_purity(recording.between(t, t + 0.1), 440.0) > 0.8:
                    return True
                t += 0.05
        return False

    with live:
        live.phase("speaking")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not a4_played():
            time.sleep(0.5)
        assert a4_played(), "the recorded sentence never reached the loudspeaker"
