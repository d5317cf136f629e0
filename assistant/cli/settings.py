"""Settings, built once from the arguments and the environment, and the argument parser."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.engine.errors import UsageError
from assistant.engine.texts import LANGUAGES, Texts
from assistant.engine.timing import Timing, with_overrides
from assistant.history import default_home
from assistant.voice import RECOGNIZERS, VoiceSettings

EXIT_USAGE = 2
MAX_SECONDS = 86400.0
"""The longest duration the command line takes: a day."""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs, built once from the arguments and the environment."""

    command: str
    """The subcommand."""
    cache_dir: Path
    """Where rendered prompts are cached ($SAMENSPRAAK_CACHE, else $XDG_CACHE_HOME/samenspraak)."""
    exercise: str | None = None
    """Exercise id."""
    file: Path | None = None
    """A coach's own exercise file."""
    lang: str | None = None
    """Language code (None: taken from the exercise or scenario)."""
    names: tuple[str, str] | None = None
    """The partners' names."""
    input: str = "voice"
    """'voice' or 'text'."""
    durations: tuple[tuple[str, float], ...] = ()
    """Duration overrides by name."""
    events: Path | None = None
    """Where to write the JSON event log of a live session."""
    scenario: Path | None = None
    """Scenario file for simulate."""
    voice: str | None = None
    """TTS voice id or name."""
    rate: int | None = None
    """TTS words per minute."""
    model: Path | None = None
    """Vosk model folder: --model, else SAMENSPRAAK_MODEL."""
    input_device: str | None = None
    """Microphone (name or index)."""
    output_device: str | None = None
    """Loudspeaker (name or index)."""
    wav: Path | None = None
    """WAV file for hear."""
    expect: str = "commands"
    """What hear listens for: commands, yesno or free."""
    recognizer: str = "auto"
    """Which recognizer: auto, vosk, pocketsphinx or none."""
    verbose: bool = False
    """Log more."""
    home: Path | None = None
    """The history's folder (run, history, forget: always one; simulate: only with --home)."""
    picture: Path | None = None
    """history: draw the speaking shares into this PNG file."""
    couple: tuple[str, str] | None = None
    """forget: only this couple."""
    yes: bool = False
    """forget: no confirmation asked."""
    list_only: bool = False
    """record: only list what is recorded and what is missing."""
    record_all: bool = False
    """record: every sentence, also those already recorded."""
    name: str | None = None
    """new: the name of the exercise file to write."""
    files: tuple[Path, ...] = ()
    """validate: the exercise files to check."""
    turn: float = 120.0
    """timer: seconds each partner has the floor."""
    mirror: float = 60.0
    """timer: seconds the listener has to say back what they heard."""
    rounds: int = 2
    """timer: how often each partner has the floor."""
    quiet: bool = False
    """timer: chimes only, no spoken cues."""
    display: bool = True
    """timer, run: show the live display and take single keys when the output is a terminal."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _duration(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in Timing.OVERRIDABLE:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not NAME=SECONDS with NAME one of {', '.join(Timing.OVERRIDABLE)}")
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"'{value}' in '{text}' is not a number")
    if seconds < 0 or (seconds == 0 and name not in Timing.MAY_BE_ZERO):
        raise argparse.ArgumentTypeError(f"'{text}': seconds must be more than 0 (0 only for "
                                         f"{', '.join(Timing.MAY_BE_ZERO)})")
    if seconds > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"'{text}': at most a day ({MAX_SECONDS:g} seconds)")
    return name, seconds


_LENGTH = re.compile(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?")


def length(text: str) -> float:
    """A duration for the timer: seconds ('90'), '90s', '2m' or '1m30s'."""
    match = _LENGTH.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration: use seconds (90), "
                                         "90s, 2m or 1m30s")
    seconds = int(match[1] or 0) * 60 + float(match[2] or 0)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': a duration must be more than 0 seconds")
    if seconds > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"'{text}': a duration is at most a day "
                                         f"({MAX_SECONDS / 60:g}m)")
    return seconds


def _rounds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of rounds (1 or more)")
    return int(text)


RECOGNIZER_HELP = ("auto (vosk when its model is installed, else pocketsphinx for English), or "
                   "force one; none: voice activity, keys and timers")
LANG_HELP = "nl (default) or en"
NAMES_HELP = "the partners' names; FIRST speaks first (default: two stand-in names)"


def _device_args(p: argparse.ArgumentParser) -> None:
    """--mic and --speaker."""
    p.add_argument("--mic", dest="input_device", metavar="DEVICE",
                   help="microphone name or number (see 'samenspraak check')")
    p.add_argument("--speaker", dest="output_device", metavar="DEVICE",
                   help="loudspeaker name or number (see 'samenspraak check')")


def _live_args(p: argparse.ArgumentParser, display_help: str = "voice input in a terminal: "
               "no live display and single keys") -> None:
    """The options of a live session: input, event log, voice, recognizer, devices, display."""
    p.add_argument("--input", choices=("voice", "text"), default="voice",
                   help="voice (speaker and microphone) or text (keyboard and screen)")
    p.add_argument("--events", type=Path, metavar="FILE",
                   help="write the JSON event log here (it includes what was heard)")
    p.add_argument("--voice", help="speech voice id or name (default: one for the language)")
    p.add_argument("--rate", type=int, help="speech rate in words per minute")
    p.add_argument("--model", type=Path, metavar="DIR", help="vosk model folder")
    p.add_argument("--recognizer", choices=RECOGNIZERS, default="auto", help=RECOGNIZER_HELP)
    _device_args(p)
    p.add_argument("--no-display", dest="display", action="store_false", help=display_help)


def _coach_parsers(sub: argparse._SubParsersAction) -> None:
    """timer, new and validate: the commands for coaches (:mod:`assistant.cli.coach`)."""
    p_timer = sub.add_parser(
        "timer", help="time a conversation: the floor, mirroring and swapping, no exercise text",
        description="Lead a conversation with a timer: each partner has the floor in turn, the "
                    "listener says back what they heard, then they swap — for the given rounds, "
                    "with chimes, warnings and short spoken cues.")
    p_timer.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"), help=NAMES_HELP)
    p_timer.add_argument("--turn", type=length, default=120.0, metavar="TIME",
                         help="floor time per turn: seconds, 90s, 2m (default 2m)")
    p_timer.add_argument("--mirror", type=length, default=60.0, metavar="TIME",
                         help="time to say back what was heard (default 1m)")
    p_timer.add_argument("--rounds", type=_rounds, default=2, metavar="N",
                         help="how often each partner has the floor (default 2)")
    p_timer.add_argument("--lang", choices=LANGUAGES, default="nl", help=LANG_HELP)
    p_timer.add_argument("--quiet", action="store_true", help="chimes only, no spoken cues")
    p_timer.add_argument("--duration", action="append", type=_duration, default=[],
                         metavar="NAME=SECONDS", help="override another duration, e.g. warn=15")
    _live_args(p_timer, display_help="no live display; typed lines as in 'run --input text'")
    p_new = sub.add_parser(
        "new", help="write a template for your own exercise",
        description="Write NAME.toml in the current folder: a short, commented exercise with "
                    "one step of each common kind that runs as it is.")
    p_new.add_argument("name", metavar="NAME", help="file name without .toml, e.g. mijn-oefening")
    p_new.add_argument("--lang", choices=LANGUAGES, default="nl",
                       help="the language of the template: nl (default) or en")
    p_validate = sub.add_parser(
        "validate", help="check exercise files and report every problem",
        description="Check exercise files; every problem of every file is reported (file, "
                    "step, field, what to do). Exit code 2 when there is one, 0 when all fine.")
    p_validate.add_argument("files", nargs="+", type=Path, metavar="FILE",
                            help="exercise files (.toml), e.g. one written by 'samenspraak new'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="samenspraak",
        description="Offline, hands-free facilitator for couples' conversation exercises. "
                    "Nothing said at the table leaves this machine.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")

    p_list = sub.add_parser("list", help="show the exercises",
                            description="Show id, title and expected minutes of every exercise.")
    p_list.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="only this language (default: both)")

    def exercise_args(p: argparse.ArgumentParser, timed: bool = True) -> None:
        p.add_argument("exercise", nargs="?", metavar="EXERCISE",
                       help="exercise id, e.g. spiegelen or mirroring (see 'samenspraak list')")
        p.add_argument("--file", type=Path, metavar="PATH",
                       help="your own exercise file instead of a built-in one")
        p.add_argument("--lang", choices=LANGUAGES,
                       help="language (default: the exercise's own)")
        p.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"), help=NAMES_HELP)
        if timed:
            p.add_argument("--duration", action="append", type=_duration, default=[],
                           metavar="NAME=SECONDS",
                           help="override a duration, e.g. turn=90 or break=600; names: "
                                + ", ".join(Timing.OVERRIDABLE) + " (repeatable; more than "
                                "0 seconds, warn=0 for no warning; at most a day)")

    p_run = sub.add_parser(
        "run", help="run an exercise at the table",
        description="Run an exercise. With --input voice (default) it speaks and listens; "
                    "with --input text prompts are printed and each typed line is an utterance "
                    "(an empty line means done/next).")
    exercise_args(p_run)

    _live_args(p_run)
    p_resume = sub.add_parser(
        "resume", help="go on with a session that was cut off",
        description="Go on where a session stopped unexpectedly (a crash, a power cut, the "
                    "program killed): at the step it was in, with the speaking times, roles "
                    "and agreements so far.")
    p_resume.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"),
                          help="whose session, when more than one couple has one to resume")
    _live_args(p_resume)

    p_sim = sub.add_parser(
        "simulate", help="run a session on a virtual clock against a scenario",
        description="Run a whole session instantly against a scripted couple and print one "
                    "JSON object per line.")
    exercise_args(p_sim)
    p_sim.add_argument("--scenario", type=Path, required=True, metavar="FILE",
                       help="scenario TOML file (see README: Scenario files)")

    p_check = sub.add_parser("check", help="check speaker, microphone and speech model",
                             description="List audio devices, play a chime, record three "
                                         "seconds and report the level, load the model; each "
                                         "with a verdict. Exit code 0 when all is fine (a "
                                         "[note] is advice), 1 when something failed.")
    p_check.add_argument("--lang", choices=LANGUAGES, default="nl",
                         help="whose speech model to load: " + LANG_HELP)
    p_check.add_argument("--model", type=Path, metavar="DIR", help="vosk model folder")
    p_check.add_argument("--recognizer", choices=RECOGNIZERS, default="auto",
                         help=RECOGNIZER_HELP)
    _device_args(p_check)

    home_help = ("folder of the history (default: $SAMENSPRAAK_HOME, else "
                 "$XDG_DATA_HOME/samenspraak, else ~/.local/share/samenspraak)")
    p_run.add_argument("--home", type=Path, metavar="DIR", help=home_help)
    p_resume.add_argument("--home", type=Path, metavar="DIR", help=home_help)
    p_sim.add_argument("--home", type=Path, metavar="DIR",
                       help="read and write the history in DIR (without it a simulation "
                            "touches no file)")
    p_history = sub.add_parser(
        "history", help="list past sessions and agreements",
        description="List the sessions kept on this computer: date, exercise, length, "
                    "speaking share per partner, agreement.")
    p_history.add_argument("--picture", type=Path, metavar="FILE.png",
                           help="also draw the speaking share per session and who spoke when "
                                "(PNG; .svg or .pdf as the file name says)")
    p_history.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"),
                           help="only this couple")
    p_history.add_argument("--home", type=Path, metavar="DIR", help=home_help)
    p_forget = sub.add_parser(
        "forget", help="delete the history and recordings",
        description="Delete every session, agreement and recording kept on this computer "
                    "(or one couple's), after a typed confirmation.")
    p_forget.add_argument("--couple", nargs=2, metavar=("FIRST", "SECOND"),
                          help="only this couple's sessions and recordings")
    p_forget.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    p_forget.add_argument("--home", type=Path, metavar="DIR", help=home_help)
    p_record = sub.add_parser(
        "record", help="record the prompts of an exercise in your own voice",
        description="Walk through the sentences of an exercise and record each in your own "
                    "voice (Enter to start and to stop); a recorded sentence replaces the "
                    "synthesized one in every session. Sentences with names or numbers stay "
                    "synthesized, unless you record them for given --names.")
    exercise_args(p_record, timed=False)
    p_record.add_argument("--list", action="store_true", dest="list_only",
                          help="only show what is recorded and what is missing")
    p_record.add_argument("--all", action="store_true", dest="record_all",
                          help="go through every sentence, also those already recorded")
    _device_args(p_record)
    p_record.add_argument("--home", type=Path, metavar="DIR", help=home_help)

    p_hear = sub.add_parser(
        "hear", help="recognise a WAV file as a session would",
        description="Print one JSON line for a WAV file: {\"text\": ..., \"intent\": ..., "
                    "\"utterances\": [...]}, what a session that stays in that moment would "
                    "hear in the same audio (a fresh recognizer, as at a session's start); "
                    "intent is the first command it would act on.")
    p_hear.add_argument("wav", type=Path, metavar="FILE.wav",
                        help="a WAV file, any rate, mono or stereo")
    p_hear.add_argument("--lang", choices=LANGUAGES, default="nl",
                        help="the language spoken: " + LANG_HELP)
    p_hear.add_argument("--expect", choices=("commands", "yesno", "paused", "free"),
                        default="commands",
                        help="the moment: commands = a speaking turn (default), yesno = a ja/nee "
                             "question, paused = a pause, free = free speech (an agreement), "
                             "each with the commands a session acts on there")
    p_hear.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"),
                        help="the partners' names, heard as fillers as in a session (default: "
                             "a session's default names)")
    p_hear.add_argument("--model", type=Path, metavar="DIR", help="vosk model folder")
    p_hear.add_argument("--recognizer", choices=RECOGNIZERS, default="auto",
                        help=RECOGNIZER_HELP.split(";")[0])
    _coach_parsers(sub)
    return parser


def parse_settings(argv: Sequence[str] | None, environ: dict[str, str]) -> Settings:
    """Build the settings from the arguments and the environment."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named with the command it came with, and the likely cause
        pair = next((o for o in ("--names", "--couple") if o in argv
                     and not extra[0].startswith("-")), None)
        hint = (f"; {pair} takes exactly two names (a name with a space goes in quotes)"
                if pair else "")
        parser.exit(EXIT_USAGE, f"samenspraak {args.command}: unrecognized arguments: "
                                f"{' '.join(extra)}{hint} (see 'samenspraak {args.command} "
                                "--help')\n")
    get = vars(args).get
    cache = environ.get("SAMENSPRAAK_CACHE") or (
        Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samenspraak")
    return Settings(
        command=args.command, exercise=get("exercise"), file=get("file"), lang=get("lang"),
        names=tuple(n.strip() for n in args.names) if get("names") else None,
        input=get("input") or "voice", durations=tuple(get("duration") or ()),
        events=get("events"), scenario=get("scenario"), voice=get("voice"), rate=get("rate"),
        model=get("model") or (Path(environ["SAMENSPRAAK_MODEL"]).expanduser()
                               if environ.get("SAMENSPRAAK_MODEL", "").strip() else None),
        input_device=get("input_device"), output_device=get("output_device"),
        wav=get("wav"), expect=get("expect") or "commands", cache_dir=Path(cache),
        recognizer=get("recognizer") or "auto",
        verbose=args.verbose,
        home=get("home") or (None if args.command in ("simulate", "list", "check", "hear")
                             else default_home(environ)),
        picture=get("picture"),
        couple=tuple(n.strip() for n in args.couple) if get("couple") else None,
        yes=bool(get("yes")), list_only=bool(get("list_only")),
        record_all=bool(get("record_all")), name=get("name"), files=tuple(get("files") or ()),
        turn=get("turn") or 120.0, mirror=get("mirror") or 60.0, rounds=get("rounds") or 2,
        quiet=bool(get("quiet")), display=get("display") is not False)


def partner_names(settings: Settings, texts: Texts,
                  fallback: tuple[str, str] | None = None) -> tuple[str, str]:
    """The couple's names: ``--names``, else ``fallback``, else the language's default names."""
    names = settings.names or fallback or tuple(texts.phrases["default_names"][:2])
    if not all(names) or names[0].casefold() == names[1].casefold():
        raise UsageError(f"two different names are needed, not {names[0]!r} and {names[1]!r}: "
                         "pass --names FIRST SECOND, e.g. --names Anna Ben")
    return names  # type: ignore[return-value]


def check_output_file(path: Path | None, what: str) -> None:
    """``path`` (when given) can be written: checked before a session starts, not halfway."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give {what} a file name, "
                         f"e.g. {path / 'events.jsonl'}")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {what} to {path}: the folder {path.parent} does not "
                         "exist")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise UsageError(f"cannot write {what} to {path}: permission denied")


def voice_settings(settings: Settings, timing: Timing) -> VoiceSettings:
    """What the voice driver needs of the settings."""
    return VoiceSettings(cache_dir=settings.cache_dir, recognizer=settings.recognizer,
                         model=settings.model, voice=settings.voice, rate=settings.rate,
                         input_device=settings.input_device,
                         output_device=settings.output_device, events=settings.events,
                         timing=timing, home=settings.home)


def timing_for(settings: Settings, silence_ends_turns: bool = True) -> Timing:
    """The session's durations, with the command line's overrides."""
    return with_overrides(Timing(silence_ends_turns=silence_ends_turns),
                          dict(settings.durations))
