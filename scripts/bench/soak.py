"""The soak: a real ``samenspraak run`` on the audio rig for N minutes, a partner speaking now and
then; its resident memory, open file descriptors and threads, sampled from /proc, must stay flat.

``python -m scripts.bench.soak [--minutes N]`` (30 by default) prints the figures as JSON;
``scripts/bench.py --only soak`` runs it as a section of the benchmark (not with --quick);
``tests/test_long_runs.py`` runs a short one in CI. The session runs with the network guard
(:mod:`assistant.rig.netguard`) injected, so the soak also counts attempts to reach the network.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from assistant.rig import netguard, pulse
from assistant.rig.speech import espeak_pcm
from scripts.bench.config import ROOT, BenchConfig

DEFAULT_MINUTES = 30.0
TURN_SECONDS = 45
"""Length of each turn in the soak's exercise; it has as many turns as the soak needs."""
SAY_EVERY = 12.0
"""Seconds between two things the partner says."""
WARM_UP = 0.25
"""Share of the run (at most 2 minutes) before the first sample counts as the start."""
LINES = ("I had a long day at work and I would like to tell you about it",
         "yesterday we talked about the holidays and I keep thinking about that",
         "done", "I am not sure what I want to say now", "repeat")
"""What the partner says, in turn: stories, and now and then a command."""


def exercise_file(folder: Path, minutes: float) -> Path:
    """An English exercise of turns, long enough to outlast the soak even when every turn
    ends early (on the partner's "done", or on silence)."""
    turns = int(minutes * 60 / SAY_EVERY) + 5
    steps = "".join(f'[[step]]\nkind = "turn"\ntext = "{{speaker}}, tell me something."\n'
                    f"seconds = {TURN_SECONDS}\nsilence_seconds = 30\n\n"
                    '[[step]]\nkind = "swap"\n\n' for _ in range(turns))
    path = folder / "soak.toml"
    path.write_text('id = "soak"\nlang = "en"\ntitle = "Soak"\ndescription = "Turns, for a '
                    'long run."\nminutes = 60\n\n' + steps, encoding="utf-8")
    return path


def probe(pid: int) -> dict[str, float]:
    """Resident memory (MB), open file descriptors and threads of process ``pid``."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": int(fields["Threads"])}


def soak(minutes: float = DEFAULT_MINUTES, sample_seconds: float = 10.0) -> dict[str, Any]:
    """Run the soak; the figures (start and end after the warm-up, every sample, the verdicts)."""
    pulse.check_rig()
    speech = [espeak_pcm(line, voice="en-us") for line in LINES]
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        folder = Path(tmp)
        attempts = folder / "network-attempts.txt"
        events = folder / "events.jsonl"
        env = {**os.environ, "SAMENSPRAAK_CACHE": str(folder / "cache"),
               "XDG_RUNTIME_DIR": str(pulse.rig_dir()), "PYTHONUNBUFFERED": "1",
               **netguard.write_sitecustomize(folder / "guard", attempts)}
        command = [sys.executable, "-m", "assistant", "run", "--file",
                   str(exercise_file(folder, minutes)), "--lang", "en", "--names", "Anna", "Ben",
                   "--recognizer", "pocketsphinx", "--rate", "300", "--events", str(events),
                   "--home", str(folder / "home")]
        feeder = pulse.MicFeeder().start()
        stop = threading.Event()
        said = [0]

        def partner() -> None:  # speaks now and then, whether or not the assistant talks
            while not stop.wait(SAY_EVERY):
                feeder.say(speech[said[0] % len(speech)])
                said[0] += 1

        process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        talker = threading.Thread(target=partner, name="soak-partner", daemon=True)
        samples: list[dict[str, float]] = []
        started = time.monotonic()
        warm_up = min(120.0, WARM_UP * minutes * 60)
        try:
            talker.start()
            end = started + minutes * 60
            next_sample = started + warm_up
            while time.monotonic() < end:
                if process.poll() is not None:
                    tail = events.read_text(encoding="utf-8").splitlines()[-8:]
                    raise RuntimeError(f"the session ended early ({process.returncode}) after "
                                       f"{time.monotonic() - started:.0f} s; its last events: "
                                       + " ".join(tail))
                if time.monotonic() >= next_sample:
                    samples.append({"t": round(time.monotonic() - started, 1),
                                    **probe(process.pid)})
                    next_sample += sample_seconds
                time.sleep(0.2)
            samples.append({"t": round(time.monotonic() - started, 1), **probe(process.pid)})
            process.send_signal(signal.SIGINT)  # Ctrl-C: the session ends kindly
            try:
                code: int | None = process.wait(timeout=90)
            except subprocess.TimeoutExpired:  # it did not end: a finding, not a crash here
                code = None
        finally:
            stop.set()
            talker.join(timeout=5)
            if process.poll() is None:
                process.kill()
                process.wait()
            feeder.stop(check=False)
        log = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()
               if line.endswith("}")]
        network = attempts.read_text(encoding="utf-8").splitlines()
    first, last = samples[0], samples[-1]
    result = {
        "minutes": minutes, "warm_up_seconds": warm_up, "start": first, "end": last,
        "rss_growth_mb": round(last["rss_mb"] - first["rss_mb"], 1),
        "rss_peak_mb": max(s["rss_mb"] for s in samples),
        "fds_change": last["fds"] - first["fds"], "threads_change": last["threads"] -
        first["threads"], "exit_code": code, "partner_said": said[0],
        "heard": sum(1 for e in log if e["type"] == "heard"),
        "turns": sum(1 for e in log if e["type"] == "phase" and e["phase"] == "speaking"),
        "ended": next((e["reason"] for e in log if e["type"] == "end"), None),
        "network_attempts": len(network), "samples": samples}
    result["flat"] = flat(result)
    return result


def flat(result: dict[str, Any], rss_mb: float = 10.0) -> bool:
    """The verdict: memory within ``rss_mb``, file descriptors and threads back where they were,
    the session ended kindly, and nothing reached for the network."""
    return (result["rss_growth_mb"] <= rss_mb and abs(result["fds_change"]) <= 1
            and abs(result["threads_change"]) <= 1 and result["exit_code"] == 0
            and result["ended"] == "stopped" and result["network_attempts"] == 0)


def measure_soak(cfg: BenchConfig) -> dict[str, Any]:
    """The benchmark's section: the 30-minute soak (--quick leaves it to the test suite, whose
    tests/test_long_runs.py runs a short one)."""
    if cfg.quick:
        return {"skipped": "--quick: tests/test_long_runs.py runs a short soak"}
    why = pulse.rig_problem()
    if why:  # the soak is about the real devices: without the rig there is nothing to measure
        return {"skipped": f"no PulseAudio rig: {why}"}
    result = soak(DEFAULT_MINUTES)
    print(f"soak {result['minutes']:g} min: {summary(result)}", flush=True)
    return result


def summary(result: dict[str, Any]) -> str:
    """One line: start → end of memory, descriptors and threads, and the verdict."""
    a, b = result["start"], result["end"]
    return (f"RSS {a['rss_mb']} → {b['rss_mb']} MB (peak {result['rss_peak_mb']}), "
            f"fds {a['fds']} → {b['fds']}, threads {a['threads']} → {b['threads']}, "
            f"{result['heard']} utterances heard, {result['turns']} turns, "
            f"network attempts {result['network_attempts']}, ended {result['ended']} "
            f"(exit {result['exit_code']}): {'flat' if result['flat'] else 'NOT FLAT'}")


def main(argv: list[str] | None = None) -> int:
    """``python -m scripts.bench.soak [--minutes N]``: run it, print JSON, exit 1 unless flat."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.soak",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"how long (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    result = soak(args.minutes)
    text = json.dumps(result, indent=1)
    print(text)
    print(summary(result), file=sys.stderr)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if result["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
