"""The couple's own voice, kept for their agreement: recorded only while they state it."""

from __future__ import annotations

import stat
from pathlib import Path

from assistant.audio import chunks, read_wav
from assistant.recorder import AgreementRecorder
from assistant.rig.signals import noise, silence


def feed(recorder: AgreementRecorder, pcm: bytes) -> None:
    for i, piece in enumerate(chunks(pcm)):
        recorder.feed(piece, i * 0.02)


def test_an_agreement_is_recorded_trimmed_and_owner_only(tmp_path: Path) -> None:
    recorder = AgreementRecorder(tmp_path)
    feed(recorder, noise(1.0, amplitude=0.3))  # before the moment: not kept
    recorder.listening(True)
    feed(recorder, silence(2.0) + noise(1.5, amplitude=0.3, seed=4) + silence(3.0))
    recorder.listening(False)
    feed(recorder, noise(1.0, amplitude=0.3))  # after it: not kept
    (name,) = recorder.files
    path = tmp_path / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    wav = read_wav(path)
    assert wav.rate == 16000 and 1.5 <= len(wav.pcm) / 32000 <= 1.5 + 0.2 + 0.3 + 0.04


def test_a_moment_without_speech_records_nothing(tmp_path: Path) -> None:
    recorder = AgreementRecorder(tmp_path)
    recorder.listening(True)
    feed(recorder, silence(3.0) + noise(0.1, amplitude=0.3))  # a click is no agreement
    recorder.listening(False)
    assert recorder.files == [] and list(tmp_path.iterdir()) == []


def test_discarded_when_the_couple_says_no(tmp_path: Path) -> None:
    recorder = AgreementRecorder(tmp_path)
    for _ in range(2):
        recorder.listening(True)
        feed(recorder, noise(1.0, amplitude=0.3))
        recorder.listening(False)
    assert len(recorder.files) == 2
    recorder.discard_all()
    assert recorder.files == [] and list(tmp_path.iterdir()) == []
