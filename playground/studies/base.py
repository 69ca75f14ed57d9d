"""The studies framework: a lecture claim as a runnable experiment with a few typed settings.

A :class:`Study` splits its work in two: ``measure`` turns settings into JSON-able numbers
(counting costs, or training through sweeps in the run store) and ``present`` turns settings and
numbers into findings, plotly figures and tables. A training study's numbers are stored once
(artifact ``study.json`` on a study run) and re-presented instantly; ``--json`` prints exactly
the numbers tests check. Studies register in :data:`STUDIES` with the :func:`study` decorator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from playground.errors import SpecError
from playground.registry import Registry

if TYPE_CHECKING:
    from playground.store import RunStore
    from playground.train.config import TrainConfig
    from playground.train.sweeps import Arm, Submit

PRESETS = ("default", "longer")
STUDY_TAG = "playground.study"          # on a study run and on its sweeps' parents: the study
STUDY_RUN_TAG = "playground.study.run"  # on a sweep parent: the study run that made it
TRUE_WORDS = ("1", "true", "yes", "on", "y")
FALSE_WORDS = ("0", "false", "no", "off", "n")


@dataclass(frozen=True)
class Setting:
    """One knob of a study: its CLI/JSON key, widget label, default (whose type is the
    setting's type), optional choices or inclusive numeric bounds, and a "longer / GPU" value."""

    name: str
    label: str
    default: Any
    choices: tuple[Any, ...] = ()
    lo: float | None = None
    hi: float | None = None
    longer: Any = None
    help: str = ""

    @property
    def kind(self) -> type:
        """The setting's type: bool, int, float or str (the default's)."""
        for t in (bool, int, float, str):
            if isinstance(self.default, t):
                return t
        raise TypeError(f"setting {self.name!r}: default must be bool, int, float or str")

    def allowed(self) -> str:
        """What the setting accepts, in words (for error messages and help)."""
        t = self.kind
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if t is bool:
            return "true or false"
        word = {int: "an integer", float: "a number", str: "text"}[t]
        if self.lo is not None and self.hi is not None:
            return f"{word} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.lo is not None:
            return f"{word} of at least {_fmt(self.lo)}"
        if self.hi is not None:
            return f"{word} of at most {_fmt(self.hi)}"
        return word

    def parse(self, value: Any, study: str = "") -> Any:
        """``value`` (a string from the CLI or a typed value from a widget) as the setting's
        type, checked against its choices and bounds; SpecError naming the setting otherwise."""
        where = f"study '{study}' setting '{self.name}'" if study else f"setting '{self.name}'"
        bad = SpecError(where, f"must be {self.allowed()}, got {value!r}")
        t = self.kind
        if t is bool:
            if isinstance(value, bool):
                out: Any = value
            elif isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
                out = value.strip().lower() in TRUE_WORDS
            elif isinstance(value, int) and value in (0, 1):
                out = bool(value)
            else:
                raise bad
        elif t is int:
            if isinstance(value, bool):
                raise bad
            try:
                number = float(value.strip()) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise bad from None
            if not math.isfinite(number) or number != int(number):
                raise bad
            out = int(number)
        elif t is float:
            if isinstance(value, bool):
                raise bad
            try:
                out = float(value.strip()) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise bad from None
            if not math.isfinite(out):
                raise bad
        else:
            if not isinstance(value, str):
                raise bad
            out = value.strip()
        if self.choices and out not in self.choices:
            raise bad
        if t in (int, float) and ((self.lo is not None and out < self.lo)
                                  or (self.hi is not None and out > self.hi)):
            raise bad
        return out


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass
class StudyResult:
    """What a study shows: its numbers (JSON-able; ``--json`` prints them), findings read off
    them, captioned plotly figures, captioned tables (lists of row dicts) and the run store ids
    of the sweeps behind it (when it trained)."""

    numbers: dict[str, Any]
    findings: list[str]
    figures: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def _no_progress(msg: str) -> None:
    return None


@dataclass
class Context:
    """Where a study's training goes: the run store (None: the default store), a progress
    callback, the sweeps' submit seam, and the study run (if any) its sweeps are tagged with.
    ``parents`` collects the sweep parent ids made through :meth:`sweep`."""

    store: "RunStore | None" = None
    progress: Callable[[str], None] = _no_progress
    submit: "Submit | None" = None
    study_run: str | None = None
    study: str = ""
    parents: list[str] = field(default_factory=list)

    def run_store(self) -> "RunStore":
        """The store (the default one, opened once, when none was given)."""
        if self.store is None:
            from playground.store import RunStore
            self.store = RunStore()
        return self.store

    def sweep(self, name: str, arms: Sequence["Arm"], base: "TrainConfig", seeds: Sequence[int],
              timeout: float | None = None) -> str:
        """Create a sweep (one parent + a child per arm x seed, saved in the store so it shows
        on the Leaderboard), report progress, wait for it and return the parent id. A sweep
        still running after ``timeout`` seconds is cancelled and TimeoutError raised; a sweep
        whose children failed is returned as is (read its status to judge it)."""
        from playground.train import sweeps
        store = self.run_store()
        parent = sweeps.create(arms, base, list(seeds), store=store, submit=self.submit,
                               name=name)
        tags = {STUDY_TAG: self.study} if self.study else {}
        if self.study_run:
            tags[STUDY_RUN_TAG] = self.study_run
        if tags:
            store.set_tags(parent, tags)
        self.parents.append(parent)
        self.progress(f"{name}: started sweep {parent} ({len(arms)} architectures x "
                      f"{len(list(seeds))} seeds)")
        done = sweeps.wait(store, parent, timeout=timeout,
                           on_change=lambda st: self.progress(f"{name}: {st.line()}"))
        if done.active:
            sweeps.cancel(store, parent)
            raise TimeoutError(f"{name}: sweep {parent} still running after {timeout:g} s; "
                               "cancelled")
        self.progress(f"{name}: {done.status.lower()}")
        return parent


def default_present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    """A plain presentation: the scalar numbers as one table, no findings."""
    rows = [{"quantity": k, "value": v} for k, v in numbers.items()
            if isinstance(v, (int, float, str, bool)) or v is None]
    return StudyResult(numbers, [], tables=[("Numbers", rows)] if rows else [])


@dataclass(frozen=True)
class Study:
    """A lecture claim as an experiment: settings -> ``measure`` -> numbers -> ``present``."""

    name: str
    number: int
    title: str
    claim: str
    look_for: str
    settings: tuple[Setting, ...]
    measure: Callable[[dict[str, Any], Context], dict[str, Any]]
    present: Callable[[dict[str, Any], dict[str, Any]], StudyResult] = default_present
    kind: str = "cost"  # one of KINDS

    @property
    def trains(self) -> bool:
        """Whether it trains networks (its sweeps are saved as runs)."""
        return self.kind == "trains"

    @property
    def background(self) -> bool:
        """Whether it takes minutes, not milliseconds: the page runs it as a study run in the
        background (training studies, and the timing study, which trains nothing)."""
        return self.kind != "cost"

    def setting(self, name: str) -> Setting:
        """The setting called ``name``; SpecError listing the known ones otherwise."""
        for s in self.settings:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.settings) or "none"
        raise SpecError(f"study '{self.name}' setting '{name}'",
                        f"is unknown; known: {known}")

    def resolve(self, given: Mapping[str, Any] | None = None, preset: str = "default"
                ) -> dict[str, Any]:
        """The defaults (or the ``longer`` preset's values) overlaid with ``given``; strings
        are parsed to each setting's type. SpecError naming the setting and what it allows
        for an unknown name, a bad type or an out-of-range value."""
        if preset not in PRESETS:
            raise SpecError(f"study '{self.name}' preset", f"must be one of "
                            f"{', '.join(PRESETS)}, got {preset!r}")
        out = {s.name: (s.longer if preset == "longer" and s.longer is not None else s.default)
               for s in self.settings}
        for key, value in (given or {}).items():
            out[key] = self.setting(key).parse(value, self.name)
        return out

    def run(self, given: Mapping[str, Any] | None = None, preset: str = "default",
            context: Context | None = None) -> StudyResult:
        """Resolve the settings, measure and present; the sweeps made on the way (if any) are
        the result's ``run_ids``."""
        context = context or Context()
        if not context.study:
            context.study = self.name
        settings = self.resolve(given, preset)
        result = self.present(settings, self.measure(settings, context))
        if not result.run_ids and context.parents:
            result.run_ids = list(context.parents)
        return result


STUDIES: Registry[Study] = Registry("study")
# What a study does to answer: counts (instant, exact), trains networks, or times them here.
KINDS = ("cost", "trains", "times")


def study(name: str, number: int, title: str, claim: str, look_for: str,
          settings: Sequence[Setting] = (), kind: str = "cost",
          present: Callable[[dict[str, Any], dict[str, Any]], StudyResult] = default_present
          ) -> Callable[[Callable[[dict[str, Any], Context], dict[str, Any]]], Study]:
    """Decorator on a study's measure function: registers the :class:`Study` in
    :data:`STUDIES` and returns it (``measure`` stays reachable as ``.measure``)."""
    def wrap(measure: Callable[[dict[str, Any], Context], dict[str, Any]]) -> Study:
        if kind not in KINDS:
            raise ValueError(f"study {name!r}: kind must be one of {KINDS}, got {kind!r}")
        names = [s.name for s in settings]
        if len(set(names)) != len(names):
            raise ValueError(f"study {name!r}: setting names repeat: {names}")
        for s in settings:  # fail at import, not on the page
            s.parse(s.default, name)
            if s.longer is not None:
                s.parse(s.longer, name)
        return STUDIES.add(name, Study(name, number, title, claim, look_for, tuple(settings),
                                       measure, present, kind))
    return wrap


__all__ = ["Context", "KINDS", "PRESETS", "STUDIES", "STUDY_RUN_TAG", "STUDY_TAG", "Setting",
           "Study", "StudyResult", "default_present", "study"]
