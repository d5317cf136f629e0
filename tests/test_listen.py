"""The listening path: voice activity → recognizer → session inputs, with fakes for both ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Heard, Listen, SpeechEnded, SpeechStarted
from assistant.engine.texts import load_texts
from assistant.listen import Listener, moment_for
from assistant.vad import END_SILENCE, VadSettings, VoiceActivity

FRAME = 640  # 20 ms of 16 kHz 16-bit mono
LOUD = b"\x10\x27" * 320
QUIET = b"\x00\x00" * 320


class FakeRecognizer:
    """Returns a scripted text per utterance and remembers what it was asked for."""

    sample_rate = 16000
    name = "fake"

    def __init__(self, results: list[str]) -> None:
        self.results = list(results)
        self.grammars: list[list[str] | None] = []
        self.fed = 0

    def start(self, phrases: Sequence[str] | None) -> None:
        self.grammars.append(None if phrases is None else list(phrases))

    def accept(self, pcm: bytes) -> None:
        self.fed += len(pcm)

    def finish(self) -> str:
        return self.results.pop(0)


def loud_is_speech(frame: bytes) -> bool:
    return frame == LOUD


def run(frames: list[bytes], results: list[str], moment=None) -> tuple[list, FakeRecognizer]:
    out: list = []
    recognizer = FakeRecognizer(results)
    listener = Listener(VoiceActivity(VadSettings(), is_speech=loud_is_speech), recognizer,
                        out.append, clock=lambda: 100.0)
    if moment is not None:
        listener.set_moment(moment)
    for frame in frames:
        listener.feed(frame)
    listener.flush()
    return out, recognizer


def test_an_utterance_becomes_start_end_and_heard() -> None:
    frames = [QUIET] * 10 + [LOUD] * 25 + [QUIET] * 40
    out, recognizer = run(frames, ["klaar"])
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded, Heard]
    assert out[2] == Heard("klaar")
    assert abs(out[1].seconds - 0.5) < 0.1
    assert recognizer.fed >= 25 * FRAME  # the whole utterance (with pre-roll) was decoded


def test_unknown_speech_gives_activity_but_no_heard() -> None:
    out, _ = run([LOUD] * 30 + [QUIET] * 50, [""])
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded]


def test_the_moment_sets_grammar_and_endpointing() -> None:
    matcher = IntentMatcher(load_texts("nl"))
    moment = moment_for(Listen(("ja", "nee"), tuple(matcher.fillers), free_speech=False,
                               short_answer=True))
    assert moment.end_silence == END_SILENCE["yesno"]
    frames = [LOUD] * 20 + [QUIET] * 22 + [LOUD] * 20 + [QUIET] * 60
    out, recognizer = run(frames, ["ja", "nee"], moment)
    # 0.44 s of silence ends a yes/no: two utterances, each decoded with the grammar
    assert [e for e in out if isinstance(e, Heard)] == [Heard("ja"), Heard("nee")]
    assert recognizer.grammars[0][:2] == ["ja", "nee"] and "eh" in recognizer.grammars[0]
    # the same pause inside a command-moment utterance does not end it
    commands = moment_for(Listen(("klaar",), (), free_speech=False, short_answer=False))
    out, _ = run(frames, ["klaar"], commands)
    assert [e for e in out if isinstance(e, Heard)] == [Heard("klaar")]


def test_free_speech_lifts_the_grammar_where_the_recognizer_can() -> None:
    agreement = Listen(("klaar",), ("eh",), free_speech=True, short_answer=False)
    free = moment_for(agreement)
    assert free.phrases is None and free.end_silence == END_SILENCE["free"]
    limited = moment_for(agreement, recognizer_free=False)
    assert limited.phrases == ("klaar", "eh") and limited.end_silence == END_SILENCE["commands"]


def test_a_moment_set_from_another_thread_is_applied_by_the_feeding_thread() -> None:
    vad = VoiceActivity(VadSettings(end_silence=0.8), is_speech=loud_is_speech)
    listener = Listener(vad, FakeRecognizer(["ja"]), lambda item: None)
    moment = moment_for(Listen(("ja", "nee"), (), free_speech=False, short_answer=True))
    setter = threading.Thread(target=listener.set_moment, args=(moment,))
    setter.start()
    setter.join()
    # handed over, not applied: the voice activity settings are untouched until audio comes
    assert vad.end_silence == 0.8 and listener.moment != moment
    listener.feed(QUIET)
    assert vad.end_silence == END_SILENCE["yesno"] and listener.moment == moment


def test_without_a_recognizer_only_voice_activity_counts() -> None:
    out: list = []
    listener = Listener(VoiceActivity(VadSettings(), is_speech=loud_is_speech), None, out.append)
    for frame in [LOUD] * 30 + [QUIET] * 60:
        listener.feed(frame)
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded]
