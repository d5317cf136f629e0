"""Voice activity: the state machine with a fake decision, and webrtcvad on synthesized speech."""

from __future__ import annotations

from array import array

import pytest

from assistant.audio import CHUNK_SAMPLES, audioop, chunks
from assistant.engine.messages import SpeechEnded, SpeechStarted
from assistant.rig.signals import noise, silence, speech_span
from assistant.rig.speech import espeak_pcm
from assistant.vad import (
    END_SILENCE,
    UtteranceAudio,
    VadSettings,
    VadState,
    VoiceActivity,
)

FRAME = CHUNK_SAMPLES  # samples in 20 ms at 16 kHz


def frames(pattern: str) -> list[bytes]:
    """One 20 ms frame per character; '#' marks speech. Every sample holds the frame's number."""
    return [array("h", [i + 1 if c == "#" else -(i + 1)] * FRAME).tobytes()
            for i, c in enumerate(pattern)]


def fake_decision(frame: bytes) -> bool:
    """Speech where frames() put a positive number."""
    return memoryview(frame).cast("h")[0] > 0


def frame_numbers(pcm: bytes) -> list[int]:
    """Which frames (by their 0-based position) a stretch of PCM is made of."""
    samples = memoryview(pcm).cast("h")
    return [abs(samples[i]) - 1 for i in range(0, len(samples), FRAME)]


def run(pattern: str, **settings: float) -> list[tuple[int, object]]:
    """Feed the pattern frame by frame; every event with the frame number it came at."""
    vad = VoiceActivity(VadSettings(**settings), is_speech=fake_decision)
    return [(i, event) for i, frame in enumerate(frames(pattern)) for event in vad.process(frame)]


def kinds(events: list[tuple[int, object]]) -> list[str]:
    return [type(e).__name__ for _, e in events]


# --- the state machine ----------------------------------------------------------------------------


def test_speech_starts_after_enough_speech_and_brings_its_pre_roll():
    events = run("." * 20 + "#" * 10 + "." * 30, pre_roll=0.1, end_silence=0.2)
    assert kinds(events)[:2] == ["SpeechStarted", "UtteranceAudio"]
    at, audio = events[1]
    assert at == 22  # three speech frames (60 ms) within the last five
    assert frame_numbers(audio.pcm) == list(range(15, 23))  # five frames of pre-roll


def test_speech_ends_after_end_silence_and_reports_its_length():
    events = run("." * 20 + "#" * 10 + "." * 30, end_silence=0.2)
    at, ended = events[-1]
    assert isinstance(ended, SpeechEnded)
    assert at == 39  # the tenth silent frame
    assert ended.seconds == pytest.approx(0.2)
    assert kinds(events).count("SpeechEnded") == 1


def test_a_click_does_not_count_as_speech():
    assert run("....#.....##......#...", end_silence=0.2) == []


def test_scattered_speech_frames_within_the_window_start_speech():
    events = run("....#.#.#..........", end_silence=0.2)
    assert kinds(events)[0] == "SpeechStarted"
    assert events[0][0] == 8


def test_a_pause_shorter_than_end_silence_keeps_one_utterance():
    events = run("#" * 10 + "." * 14 + "#" * 10 + "." * 20, end_silence=0.3)
    assert kinds(events).count("SpeechStarted") == 1
    ended = [e for _, e in events if isinstance(e, SpeechEnded)]
    assert [e.seconds for e in ended] == [pytest.approx(34 * 0.02)]


def test_a_pause_longer_than_end_silence_splits_the_utterances():
    events = run("#" * 10 + "." * 16 + "#" * 10 + "." * 20, end_silence=0.3)
    ended = [e for _, e in events if isinstance(e, SpeechEnded)]
    assert [e.seconds for e in ended] == [pytest.approx(0.2), pytest.approx(0.2)]


def test_the_utterance_audio_runs_without_gaps_from_pre_roll_to_end():
    pattern = "." * 30 + "#" * 12 + "." * 5 + "#" * 3 + "." * 40
    events = run(pattern, pre_roll=0.2, end_silence=0.4)
    audio = b"".join(e.pcm for _, e in events if isinstance(e, UtteranceAudio))
    assert frame_numbers(audio) == list(range(30 - 10, 30 + 12 + 5 + 3 + 20))


def test_end_silence_changes_at_run_time():
    vad = VoiceActivity(VadSettings(end_silence=END_SILENCE["free"]), is_speech=fake_decision)
    stream = frames("#" * 10 + "." * 60)
    events = [e for f in stream[:25] for e in vad.process(f)]
    assert vad.state is VadState.STOPPING
    assert not any(isinstance(e, SpeechEnded) for e in events)
    vad.end_silence = END_SILENCE["yesno"]  # 15 silent frames (0.3 s) so far: not yet
    events = [e for f in stream[25:29] for e in vad.process(f)]
    assert not any(isinstance(e, SpeechEnded) for e in events)  # 19 frames: still under 0.4 s
    ended = vad.process(stream[29])[-1]  # the 20th silent frame: 0.4 s
    assert isinstance(ended, SpeechEnded)
    assert ended.seconds == pytest.approx(10 * 0.02)
    assert vad.state is VadState.QUIET
    with pytest.raises(ValueError):
        vad.end_silence = 0


def test_chunks_of_any_size_give_the_same_result_as_frames():
    pattern = "." * 20 + "#" * 30 + "." * 10 + "#" * 5 + "." * 50
    pcm = b"".join(frames(pattern))
    by_frame = VoiceActivity(VadSettings(end_silence=0.4), is_speech=fake_decision)
    by_odd = VoiceActivity(VadSettings(end_silence=0.4), is_speech=fake_decision)
    expected = [e for f in frames(pattern) for e in by_frame.process(f)]
    got = [e for i in range(0, len(pcm), 777) for e in by_odd.process(pcm[i:i + 777])]

    def squash(events):
        audio = b"".join(e.pcm for e in events if isinstance(e, UtteranceAudio))
        return [e for e in events if not isinstance(e, UtteranceAudio)], audio

    assert squash(got) == squash(expected)
    assert by_odd.position == by_frame.position


def test_one_chunk_holding_a_whole_utterance_gives_events_in_order():
    vad = VoiceActivity(VadSettings(end_silence=0.2), is_speech=fake_decision)
    events = vad.process(b"".join(frames("." * 5 + "#" * 10 + "." * 12 + "#" * 6 + "." * 3)))
    assert [type(e) for e in events] == [SpeechStarted, UtteranceAudio, SpeechEnded,
                                         SpeechStarted, UtteranceAudio]


def test_flush_closes_an_utterance_in_progress_and_starts_afresh():
    vad = VoiceActivity(VadSettings(), is_speech=fake_decision)
    for frame in frames("#" * 8):
        vad.process(frame)
    assert vad.state is VadState.SPEAKING
    assert vad.flush() == [SpeechEnded(seconds=pytest.approx(0.16))]
    assert vad.state is VadState.QUIET
    assert vad.flush() == []


@pytest.mark.parametrize("bad", [
    {"sample_rate": 22050}, {"frame_seconds": 0.025}, {"aggressiveness": 4},
    {"start_speech": 0.2, "start_window": 0.1}, {"end_silence": 0}, {"pre_roll": -1},
])
def test_settings_that_webrtcvad_or_the_machine_cannot_use_are_refused(bad):
    with pytest.raises(ValueError):
        VadSettings(**bad)


# --- webrtcvad on synthesized speech --------------------------------------------------------------


def listen(pcm: bytes, settings: VadSettings) -> tuple[list[tuple[float, object]], VoiceActivity]:
    """Feed 20 ms chunks; events with the audio position at which they fired."""
    vad = VoiceActivity(settings)
    events = []
    for chunk in chunks(pcm):
        events.extend((vad.position, e) for e in vad.process(chunk))
    return events, vad


def with_background(speech: bytes, before: float = 1.0, after: float = 1.5) -> bytes:
    """Speech between stretches of quiet room noise (about -50 dBFS), noise under it too."""
    padded = silence(before) + speech + silence(after)
    hiss = noise(len(padded) / 32000, 0.005)
    return audioop().add(padded, hiss, 2)


@pytest.mark.parametrize(("voice", "text"), [
    ("en", "yes"), ("en", "no"), ("nl", "ja"), ("nl", "nee"), ("nl", "klaar"),
    ("nl", "pauze"), ("en", "stop"),
])
def test_a_short_answer_is_one_utterance_that_ends_quickly(voice, text):
    speech = espeak_pcm(text, voice=voice)
    start, end = speech_span(speech)
    events, _ = listen(with_background(speech), VadSettings(end_silence=END_SILENCE["yesno"]))
    assert [type(e) for _, e in events if not isinstance(e, UtteranceAudio)] == \
        [SpeechStarted, SpeechEnded]
    started_at = events[0][0]
    ended_at, ended = events[-1]
    assert 1.0 + start <= started_at + 0.02 <= 1.0 + start + 0.15
    assert ended.seconds == pytest.approx(end - start, abs=0.2)
    latency = ended_at - (1.0 + end)
    assert END_SILENCE["yesno"] - 0.15 <= latency <= END_SILENCE["yesno"] + 0.15


def test_a_sentence_with_short_pauses_stays_one_utterance_when_free_talk_is_expected():
    speech = espeak_pcm("When you came home late, I felt alone. I would like us to eat together.",
                        voice="en", words_per_minute=140)
    events, _ = listen(with_background(speech, after=2.0),
                       VadSettings(end_silence=END_SILENCE["free"]))
    ended = [e for _, e in events if isinstance(e, SpeechEnded)]
    start, end = speech_span(speech)
    assert len(ended) == 1
    assert ended[0].seconds == pytest.approx(end - start, abs=0.3)


def test_the_utterance_audio_holds_the_whole_word_with_pre_roll():
    speech = espeak_pcm("pauze", voice="nl")
    start, end = speech_span(speech)
    events, _ = listen(with_background(speech), VadSettings(end_silence=0.5, pre_roll=0.25))
    audio = b"".join(e.pcm for _, e in events if isinstance(e, UtteranceAudio))
    heard_start, heard_end = speech_span(audio)
    assert heard_start == pytest.approx(0.25, abs=0.08)
    assert heard_end - heard_start == pytest.approx(end - start, abs=0.03)


def test_room_noise_and_quiet_sounds_under_the_energy_floor_are_not_speech():
    whisper = audioop().mul(espeak_pcm("hello there"), 2, 0.01)  # about -60 dBFS
    pcm = with_background(whisper)
    assert listen(pcm, VadSettings())[0] == []
    assert listen(pcm, VadSettings(energy_floor=0, aggressiveness=0))[0] != []


def test_silence_counts_the_quiet_since_the_last_speech_frame():
    vad = VoiceActivity(VadSettings(end_silence=0.4), is_speech=fake_decision)
    vad.process(b"".join(frames("#####")))
    assert vad.state is VadState.SPEAKING and vad.silence == 0.0
    vad.process(b"".join(frames("#####...")[5:]))
    assert vad.state is VadState.STOPPING and abs(vad.silence - 0.06) < 1e-9
    vad.process(b"".join(frames("#####...#")[8:]))
    assert vad.silence == 0.0


def test_end_now_ends_the_utterance_and_the_stream_goes_on():
    vad = VoiceActivity(VadSettings(end_silence=0.4), is_speech=fake_decision)
    events = vad.process(b"".join(frames("..#####....")))
    assert vad.state is VadState.STOPPING
    ended = vad.end_now()
    assert ended == [SpeechEnded(seconds=0.1)] and vad.state is VadState.QUIET
    assert vad.end_now() == []
    # nothing is ended twice: the silence that follows starts nothing and ends nothing
    assert vad.process(b"".join(frames("." * 30))) == []
    assert isinstance(events[0], SpeechStarted)
