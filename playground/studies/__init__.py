"""The lecture's claims as runnable studies (issue 12): ``get(name)``, ``names()``.

Each study module registers itself in :data:`STUDIES` on import; add one import line below
for a new module.
"""
from __future__ import annotations

from playground.errors import SpecError
from playground.studies.base import STUDIES, Context, Setting, Study, StudyResult, study

# --- study modules (registration on import; one line each) ----------------------------------


def get(name: str) -> Study:
    """The study called ``name``; SpecError listing the known names otherwise."""
    if name not in STUDIES:
        raise SpecError(f"study '{name}'", "is unknown; known: " + (", ".join(names()) or "none"))
    return STUDIES.get(name)


def names() -> list[str]:
    """Every registered study's name, in the issue's numbering (then by name)."""
    return sorted(STUDIES.list(), key=lambda n: (STUDIES.get(n).number, n))


def all_studies() -> list[Study]:
    """Every registered study, in the issue's numbering."""
    return [STUDIES.get(n) for n in names()]


__all__ = ["STUDIES", "Context", "Setting", "Study", "StudyResult", "all_studies", "get",
           "names", "study"]
