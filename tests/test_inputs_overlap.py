"""Inputs checked for identity and overlap at the boundary: the same file twice or a holdout holding the
training rows is bad input (exit 2, naming both); rows shared beyond chance go to the notes."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import BadInputError
from qaharness.inputs import prepare_inputs

runner = CliRunner()


@pytest.fixture
def frames():
    return {"train": make_mixed_frame(300, 1), "holdout": make_mixed_frame(300, 2), "unseen": make_mixed_frame(300, 3)}


def test_the_same_file_twice_exits_2_naming_both(frames, tmp_path):
    train = tmp_path / "train.csv"
    frames["train"].to_csv(train, index=False)
    frames["unseen"].to_csv(tmp_path / "synthetic.csv", index=False)
    common = ["gate", "--real", train, "--out", tmp_path / "out", "--no-store"]
    result = runner.invoke(
        app, [str(a) for a in [*common, "--holdout", train, "--synthetic", tmp_path / "synthetic.csv"]]
    )
    assert result.exit_code == 2, result.output
    assert "real and holdout are the same file" in result.output and "train.csv" in result.output
    again = runner.invoke(app, [str(a) for a in [*common, "--holdout", train, "--synthetic", train]])
    assert again.exit_code == 2 and "are the same file" in again.output


def test_a_holdout_holding_the_training_rows_is_refused(frames):
    shuffled = frames["train"].sample(frac=1.0, random_state=0)  # same rows, another order
    with pytest.raises(BadInputError, match="holdout holds exactly the rows of real"):
        prepare_inputs(frames["train"], frames["unseen"], shuffled)


def test_a_full_copy_handed_as_a_dataframe_is_judged_not_refused(frames):
    data = prepare_inputs(frames["train"], frames["train"].copy(), frames["holdout"])
    assert len(data.synthetic) == 300  # the privacy metrics judge it (exact_match = 1)


def test_shared_rows_beyond_chance_are_named_in_notes(frames):
    leaky = pd.concat([frames["holdout"].iloc[:250], frames["train"].iloc[:50]], ignore_index=True)
    notes = prepare_inputs(frames["train"], frames["unseen"], leaky).notes
    assert any(n.startswith("holdout: 16.7% of its rows are identical to training rows") for n in notes), notes
    seen = pd.concat([frames["unseen"].iloc[:200], frames["holdout"].iloc[:100]], ignore_index=True)
    notes = prepare_inputs(frames["train"], seen, frames["holdout"]).notes
    assert any("the generator may have seen the holdout" in n for n in notes), notes
    clean = prepare_inputs(frames["train"], frames["unseen"], frames["holdout"]).notes
    assert not any("identical to" in n for n in clean), clean


def test_duplicates_inside_real_data_explain_shared_rows():
    """Discrete rows repeat; a clean split shares rows at about training's own duplicate rate: no note."""
    import numpy as np

    rng = np.random.default_rng(0)

    def draw(n):
        return pd.DataFrame({c: rng.choice(["a", "b"], n) for c in "uvwx"})

    notes = prepare_inputs(draw(400), draw(300), draw(300)).notes
    assert not any("identical to" in n for n in notes), notes
