"""The run: parse the arguments, run each measurement, print the table, write the results."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from assistant.engine.texts import LANGUAGES
from assistant.rig import pulse  # points PulseAudio clients at the rig before sounddevice loads
from assistant.rig.noise import kitchen_noise
from scripts import bench
from scripts.bench.accuracy import measure_accuracy
from scripts.bench.config import FULL, QUICK, RESULTS, SECTIONS, BenchConfig
from scripts.bench.cost import cost_probe, measure_cost
from scripts.bench.false_commands import measure_false_commands
from scripts.bench.latency import measure_latency
from scripts.bench.listening import discover_engines
from scripts.bench.output import describe, rig_pace
from scripts.bench.raised_voices import measure_raised_voices
from scripts.bench.report import machine, print_table, targets, write_results
from scripts.bench.soak import measure_soak
from scripts.bench.timing import measure_timing


def section(results: dict[str, Any], name: str, work: Callable[[], dict[str, Any]]) -> None:
    """Run one measurement; a failure is recorded and the others still run."""
    started = time.monotonic()
    print(f"[{time.strftime('%H:%M:%S')}] {name} …", flush=True)
    try:
        results[name] = work()
    except Exception as exc:  # report any failure in this section, then go on with the next
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    results["seconds"][name] = round(time.monotonic() - started, 1)


def benchmark(cfg: BenchConfig, out: Path, only: Iterable[str] = ()) -> int:
    """Run the measurements (``only`` some), print the table, write the results.

    Returns 1 when a measurement failed, else 0; missed targets do not count as failures.
    """
    only = set(only)
    rig = pulse.pulse_available()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as cache:
        cache_dir = Path(cache)
        results: dict[str, Any] = {
            "mode": "quick" if cfg.quick else "full",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(["scripts/bench.py", *sys.argv[1:]]),
            "machine": machine(),
            "audio_output": describe(rig),
            "microphone": "20 ms chunks through Listener (real time where CPU or the clock "
                          "is measured, faster elsewhere)",
            "seconds": {}}
        if not rig:
            print(f"no PulseAudio rig ({pulse.rig_problem()}): sound goes to a fake output "
                  "at a sound card's pace", flush=True)
        # The sound card's own pace first, so a slow rig is never taken for a slow product.
        section(results, "rig_pace", lambda: rig_pace(rig))
        bed = kitchen_noise(cfg.noise_seconds)
        engines, results["recognizers"] = discover_engines()
        measurements: dict[str, Callable[[], dict[str, Any]]] = {
            "latency": lambda: measure_latency(engines, bed, cfg, rig, cache_dir),
            "accuracy": lambda: measure_accuracy(engines, bed, cfg),
            "false_commands": lambda: measure_false_commands(engines, bed, cfg),
            "cost": lambda: measure_cost(cfg, rig),
            "timing": lambda: measure_timing(engines, cfg, rig),
            "raised_voices": lambda: measure_raised_voices(cfg),
            "soak": lambda: measure_soak(cfg),  # 30 minutes; not with --quick
        }
        for name, work in measurements.items():
            if not only or name in only:
                section(results, name, work)
    results["seconds"]["total"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    checks = targets(results)
    results["targets"] = [c.as_json() for c in checks]
    write_results(out, results)
    print_table(results, checks)
    print(f"\nwritten to {out} in {results['seconds']['total']} s")
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="scripts/bench.py",
                                     description=(bench.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of every measurement (under 3 minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument("--only", action="append", default=[], choices=SECTIONS,
                        help="run only this measurement (repeatable)")
    parser.add_argument("--cost-probe", choices=LANGUAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    cfg = QUICK if args.quick else FULL
    if args.cost_probe:
        print(json.dumps(cost_probe(args.cost_probe, cfg, pulse.pulse_available())))
        return 0
    return benchmark(cfg, args.out, args.only)
