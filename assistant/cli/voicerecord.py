"""``samenspraak record``: a coach records the sentences of an exercise in their own voice.

Each sentence is shown; Enter starts the recording and Enter stops it; it is played back; the
coach keeps it, records it again, skips it or stops. ``--list`` shows what is recorded and what
is missing. The recordings live in the user's data folder (see :mod:`assistant.voicebank`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from assistant.cli.sessions import _load_exercise
from assistant.cli.settings import EXIT_USAGE, Settings
from assistant.engine.errors import UsageError
from assistant.voicebank import VoiceBank, prompts_of

KEEP, REDO, SKIP, QUIT = "k", "r", "s", "q"


def record_prompts(prompts: list[str], bank: VoiceBank, take: Callable[[], bytes],
                   play: Callable[[bytes], None], ask: Callable[[str], str],
                   out: TextIO) -> int:
    """Walk through ``prompts``; ``take`` records one take (Enter to start and stop), ``play``
    plays it back, ``ask`` reads the coach's answer. How many were kept."""
    kept = 0
    for number, text in enumerate(prompts, start=1):
        while True:
            print(f"\n[{number}/{len(prompts)}] {text}", file=out)
            answer = ask("Enter: record (Enter again to stop) · s: skip · q: stop > ")
            if answer == QUIT:
                return kept
            if answer == SKIP:
                break
            path = bank.save(text, take())
            if path is None:
                print("no speech heard; try again", file=out)
                continue
            from assistant.tts import normalise_wav

            play(normalise_wav(path))
            answer = ask("k: keep · r: again · q: stop > ")
            if answer == REDO:
                bank.remove(text)
                continue
            if answer == QUIT:
                return kept + 1
            kept += 1
            break
    return kept


def cmd_record(settings: Settings) -> int:
    """Record (or list) the prompts of an exercise in the coach's own voice."""
    exercise = _load_exercise(settings, settings.lang)
    assert settings.home is not None, "record always has a home"
    bank = VoiceBank(settings.home, exercise.lang)
    prompts = prompts_of(exercise, settings.names)
    done, missing = bank.recorded(prompts)
    if settings.list_only:
        for text in prompts:
            print(f"{'recorded' if text in done else 'missing ':<9} {text}")
        print(f"{len(done)} of {len(prompts)} recorded in {bank.folder}")
        return 0
    todo = prompts if settings.record_all else missing
    if not todo:
        print(f"every sentence is recorded ({len(prompts)}); --all records them again")
        return 0
    if not sys.stdin.isatty():
        print("samenspraak: record needs a terminal to type Enter in", file=sys.stderr)
        return EXIT_USAGE
    take, play = _microphone_take(settings), _player(settings)
    kept = record_prompts(todo, bank, take, play,
                          lambda prompt: input(prompt).strip().lower()[:1], sys.stdout)
    print(f"\n{kept} recorded; {len(bank.recorded(prompts)[1])} still missing")
    return 0


def _microphone_take(settings: Settings) -> Callable[[], bytes]:
    """One take from the microphone, from Enter to Enter."""
    from assistant.mic import Microphone, MicSettings, NoInputDevice

    def take() -> bytes:
        try:
            mic = Microphone(MicSettings(device=settings.input_device))
            mic.open()
        except NoInputDevice as err:
            raise UsageError(f"cannot record: {err}") from None
        chunks: list[bytes] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                chunk = mic.read(timeout=0.2)
                if chunk is not None:
                    chunks.append(chunk.pcm)

        reader = threading.Thread(target=read, name="record", daemon=True)
        reader.start()
        try:
            input("recording … Enter to stop ")
        finally:
            stop.set()
            reader.join(timeout=2)
            mic.close()
        return b"".join(chunks)

    return take


def _player(settings: Settings) -> Callable[[bytes], None]:
    """Plays a take back on the loudspeaker (printed note where there is none)."""
    from assistant.playback import SAMPLE_RATE, AudioOutput, AudioOutputError

    output = AudioOutput(settings.output_device)

    def play(pcm: bytes) -> None:
        try:
            output.play(pcm, SAMPLE_RATE)
        except AudioOutputError as err:  # no loudspeaker: the take is kept unheard
            print(f"(cannot play it back: {err})")

    return play
