"""Every registered training recipe runs a tiny job end to end through the run lifecycle
(create, execute, store). A recipe registered without a case here fails the coverage guard."""
from __future__ import annotations

import pytest

from playground.data.samples import disc_square_images, write_class_folders
from playground.store import RunStore
from playground.train.config import TrainConfig
from playground.train.recipes import RECIPES
from playground.train.recipes.transfer import transfer_config
from playground.train.runs import run_local

TINY = {"name": "tiny", "input_shape": [16, 16, 3], "blocks": [
    {"type": "conv", "params": {"filters": 4, "batch_norm": True}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}}


def _scratch(tmp_path):
    return TrainConfig(spec=TINY, epochs=1, dataset_options={"image_size": 16, "count": 60})


def _transfer(tmp_path):
    x, y, names = disc_square_images(12, 32, seed=1)
    folder = write_class_folders(tmp_path / "imgs", x, y, names)
    return transfer_config(str(folder), backbone="MobileNetV2", weights="none", image_size=32,
                           epochs=1, val_split=0.25)


CASES = {"scratch": _scratch, "transfer": _transfer}


def test_every_recipe_has_a_case():
    assert sorted(RECIPES.list()) == sorted(CASES), "add a tiny case for each new recipe"


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_runs_a_tiny_job_into_the_store(name, tmp_path):
    config = CASES[name](tmp_path)
    assert config.recipe == name
    store = RunStore()
    result = run_local(config, store)
    rec = store.get(result["run_id"])
    assert result["status"] == rec.status == "FINISHED"
    assert rec.recipe == name and rec.params["recipe"] == name
    assert result["val_accuracy"] == pytest.approx(rec.val_accuracy)
    assert store.artifact_path(rec.run_id, "model.keras") is not None
    assert store.progress(rec.run_id)["phase"] == "done"  # live state lives in the store
