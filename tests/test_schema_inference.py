"""Schema inference from every real row (training and holdout), and integer keys as identifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qaharness.inputs import prepare_inputs
from qaharness.schema import ColumnKind, infer_schema


def test_a_count_constant_zero_in_training_is_numeric_when_the_holdout_has_other_values():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"claims": np.zeros(400), "x": rng.normal(size=400)})
    holdout = pd.DataFrame({"claims": rng.integers(0, 4, 100).astype(float), "x": rng.normal(size=100)})
    assert infer_schema(train)["claims"] is ColumnKind.NUMERIC  # {0} alone is not boolean
    data = prepare_inputs(train, train, holdout)  # used to end in exit 2: "should be boolean"
    assert data.schema["claims"] is ColumnKind.NUMERIC
    assert data.holdout["claims"].max() == holdout["claims"].max()


@pytest.mark.parametrize(("values", "kind"), [([0, 0, 0], "numeric"), ([1, 1], "numeric"), ([0, 1, 1], "boolean")])
def test_numeric_is_boolean_only_when_both_zero_and_one_occur(values, kind):
    assert infer_schema(pd.DataFrame({"v": values}))["v"].value == kind


def test_kinds_come_from_training_and_holdout_together():
    train = pd.DataFrame({"flag": [0, 0, 0, 0]})
    holdout = pd.DataFrame({"flag": [0, 1]})
    assert infer_schema(train, others=[holdout])["flag"] is ColumnKind.BOOLEAN
    assert infer_schema(pd.DataFrame({"n": [0, 1, 1]}), others=[pd.DataFrame({"n": [2, 3]})])["n"] is ColumnKind.NUMERIC


def test_a_holdout_column_read_as_text_does_not_turn_a_numeric_column_categorical():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    holdout = pd.DataFrame({"x": ["1", "two", "3"]})
    assert infer_schema(train, others=[holdout])["x"] is ColumnKind.NUMERIC


def test_unique_integer_row_numbers_are_identifiers():
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(1, 1001))
    train = pd.DataFrame({"rownames": ids[:800], "age": rng.integers(18, 90, 800)})
    holdout = pd.DataFrame({"rownames": ids[800:], "age": rng.integers(18, 90, 200)})
    assert infer_schema(train, others=[holdout])["rownames"] is ColumnKind.IDENTIFIER
    # unnamed but packed into a range about as wide as the row count, or in file order
    serial = pd.DataFrame({"n": np.arange(5000, 5000 + 300), "k": rng.permutation(300) + 17})
    kinds = infer_schema(serial)
    assert kinds["n"] is ColumnKind.IDENTIFIER and kinds["k"] is ColumnKind.IDENTIFIER
    assert infer_schema(pd.DataFrame({"Unnamed: 0": np.arange(25)}))["Unnamed: 0"] is ColumnKind.IDENTIFIER


def test_a_unique_measurement_is_not_an_identifier():
    rng = np.random.default_rng(2)
    weights = rng.choice(np.arange(10_000, 1_500_000), 300, replace=False)  # unique, integral, spread wide
    assert infer_schema(pd.DataFrame({"fnlwgt": weights}))["fnlwgt"] is ColumnKind.NUMERIC
    assert infer_schema(pd.DataFrame({"score": np.arange(30) * 7}))["score"] is ColumnKind.NUMERIC  # < 50 rows
