"""The lecture's claims as runnable studies (issue 12): ``get(name)``, ``names()``.

Each study module registers itself in :data:`STUDIES` on import; add one import line below
for a new module.
"""
from __future__ import annotations

from playground.errors import SpecError
from playground.studies.base import STUDIES, Context, Setting, Study, StudyResult, study

# --- study modules (registration on import; one line each) ----------------------------------
from playground.studies import telescoping  # noqa: F401  1
from playground.studies import bottleneck  # noqa: F401  2
from playground.studies import grouped  # noqa: F401  3
from playground.studies import separable  # noqa: F401  4
from playground.studies import inception  # noqa: F401  5
from playground.studies import degradation  # noqa: F401  6
from playground.studies import paths  # noqa: F401  7 (counting)
from playground.studies import paths_trained  # noqa: F401  7 (trained: lesion, gradients)
from playground.studies import loss_surface  # noqa: F401  8
from playground.studies import stochastic_depth  # noqa: F401  9
from playground.studies import heads  # noqa: F401  10 (cost)
from playground.studies import heads_train  # noqa: F401  10 (accuracy)
from playground.studies import conv1d  # noqa: F401  11
from playground.studies import speed  # noqa: F401  12


def get(name: str) -> Study:
    """The study called ``name``; SpecError listing the known names otherwise."""
    if name not in STUDIES:
        raise SpecError(f"study '{name}'", "is unknown; known: " + (", ".join(names()) or "none"))
    return STUDIES.get(name)


def names() -> list[str]:
    """Every registered study's name, in the issue's numbering (a number's parts in their
    import order below: 7's counting before its trained half)."""
    return sorted(STUDIES.list(), key=lambda n: STUDIES.get(n).number)


def all_studies() -> list[Study]:
    """Every registered study, in the issue's numbering."""
    return [STUDIES.get(n) for n in names()]


__all__ = ["STUDIES", "Context", "Setting", "Study", "StudyResult", "all_studies", "get",
           "names", "study"]
