"""The registry of training recipes: ``scratch`` (an architecture from random weights) and
``transfer`` (a backbone with a new head). ``RECIPES.get(config.recipe)`` is how a run finds
its body; registering one more recipe is all a new kind of run needs."""
from playground.train.recipes import scratch, transfer  # noqa: F401  (registration)
from playground.train.recipes.base import RECIPES, Recipe, RunContext, RunResult

__all__ = ["RECIPES", "Recipe", "RunContext", "RunResult"]
