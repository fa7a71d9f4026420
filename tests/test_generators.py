"""Generators: conformance over every registered generator, the encoder, domains, conditions, errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pydantic
import pytest
import torch
from conftest import make_mixed_frame

from qaharness.errors import BadInputError, GeneratorError, UnknownPluginError
from qaharness.generators import (
    FitReport,
    Generator,
    fit_and_sample,
    generate_file,
    generator_ids,
    generator_registry,
    get_generator,
    load_generator,
    make_generator,
)
from qaharness.generators._domain import _cell_edges, _grid_cell, fit_domains, load_domain_file
from qaharness.generators._transform import TableEncoder
from qaharness.schema import ColumnKind, Schema, infer_schema

FAST = {"epochs": 1, "device": "cpu"}


def fast_params(generator_id: str) -> dict:
    return dict(FAST) if "epochs" in get_generator(generator_id).Config.model_fields else {"device": "cpu"}


@pytest.fixture(scope="module")
def real():
    return make_mixed_frame(200, 1)


@pytest.fixture(scope="module")
def fitted(real):
    """Every registered generator fitted once (1 epoch, CPU) on the 200-row mixed frame."""
    out = {}
    for gid in generator_ids():
        generator = make_generator(gid, **fast_params(gid))
        generator.fit(real, seed=3)
        out[gid] = generator
    return out


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


def test_builtins_are_registered():
    assert {"independent", "gaussian_copula", "ctgan", "tvae"} <= set(generator_ids())


@pytest.mark.parametrize("gid", generator_ids())
def test_conformance_columns_dtypes_rows(gid, fitted, real):
    synthetic = fitted[gid].sample(57, seed=1)
    assert list(synthetic.columns) == list(real.columns)
    assert synthetic.dtypes.to_dict() == real.dtypes.to_dict()
    assert len(synthetic) == 57
    assert len(fitted[gid].sample(0, seed=1)) == 0


@pytest.mark.parametrize("gid", generator_ids())
def test_conformance_categories_and_ranges_from_training_domain(gid, fitted, real):
    synthetic = fitted[gid].sample(300, seed=2)
    for column in ("group", "flag", "label"):
        assert set(synthetic[column].dropna()) <= set(real[column])
    for column in ("age", "income", "day"):
        assert synthetic[column].min() >= real[column].min()
        assert synthetic[column].max() <= real[column].max()
    assert (synthetic["day"] == synthetic["day"].dt.normalize()).all()  # dates stay dates
    assert (synthetic["age"] % 1 == 0).all()  # integral stays integral


@pytest.mark.parametrize("gid", generator_ids())
def test_conformance_determinism(gid, fitted, real):
    generator = fitted[gid]
    assert generator.sample(100, seed=5).equals(generator.sample(100, seed=5))
    assert not generator.sample(100, seed=5).equals(generator.sample(100, seed=6))
    again = make_generator(gid, **fast_params(gid))
    again.fit(real, seed=3)
    assert again.sample(100, seed=5).equals(generator.sample(100, seed=5))


@pytest.mark.parametrize("gid", generator_ids())
def test_conformance_save_load_round_trip(gid, fitted, tmp_path):
    fitted[gid].save(tmp_path / gid)
    loaded = load_generator(tmp_path / gid)
    assert type(loaded) is type(fitted[gid])
    assert loaded.fit_report_ == fitted[gid].fit_report_
    assert loaded.sample(80, seed=9).equals(fitted[gid].sample(80, seed=9))


@pytest.mark.parametrize("gid", generator_ids())
def test_conformance_input_not_mutated_and_report(gid, real):
    frame = real.copy()
    before = _digest(frame)
    report = make_generator(gid, **fast_params(gid)).fit(frame, seed=0)
    assert _digest(frame) == before
    assert isinstance(report, FitReport) and report.generator == gid and report.rows == 200
    assert report.preprocessing == "data_dependent_not_private" and report.epsilon is None
    with pytest.raises(pydantic.ValidationError):
        report.epochs = 5  # frozen


def test_registry_unknown_id_lists_known_ones():
    with pytest.raises(UnknownPluginError, match="known: ctgan, gaussian_copula"):
        get_generator("nope")


def test_registry_rejects_duplicate_ids():
    class Impostor(Generator):
        id = "tvae"

    with pytest.raises(ValueError, match="duplicate generator id 'tvae'"):
        generator_registry.register(Impostor)


def test_bad_parameter_names_itself():
    with pytest.raises(GeneratorError, match="'batch_size' parameter of tvae"):
        make_generator("tvae", batch_size=-3)
    with pytest.raises(GeneratorError, match="extra_knob"):
        make_generator("ctgan", extra_knob=1)


def test_sample_before_fit_and_bad_rows(real):
    generator = make_generator("independent")
    with pytest.raises(GeneratorError, match="before fit"):
        generator.sample(3, seed=0)
    generator.fit(real, seed=0)
    with pytest.raises(BadInputError, match="n_rows"):
        generator.sample(-1, seed=0)


@pytest.mark.parametrize("gid", ["ctgan", "independent", "tvae", "gaussian_copula"])
def test_conditions_give_only_matching_rows(gid, fitted):
    synthetic = fitted[gid].sample(40, seed=1, conditions={"label": ">50K"})
    assert len(synthetic) == 40 and (synthetic["label"] == ">50K").all()


def test_condition_errors(fitted):
    with pytest.raises(BadInputError, match="not in the training domain"):
        fitted["ctgan"].sample(5, seed=0, conditions={"group": "zzz"})
    with pytest.raises(BadInputError, match="categorical or boolean"):
        fitted["ctgan"].sample(5, seed=0, conditions={"age": 30})
    with pytest.raises(BadInputError, match="unknown column"):
        fitted["ctgan"].sample(5, seed=0, conditions={"nope": "a"})


def test_boolean_condition_accepts_the_raw_spelling(fitted):
    synthetic = fitted["independent"].sample(10, seed=0, conditions={"flag": "yes"})
    assert set(synthetic["flag"]) == {"yes"}


def test_text_column_is_rejected_and_identifiers_are_surrogates():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(100, 130),
            "x": rng.normal(size=30),
            "note": [f"free text number {i} with several words" for i in range(30)],
        }
    )
    schema = infer_schema(frame)
    assert schema["note"] is ColumnKind.TEXT and schema["customer_id"] is ColumnKind.IDENTIFIER
    with pytest.raises(BadInputError, match="'note' is text"):
        make_generator("independent").fit(frame, schema, seed=0)
    synthetic, _ = fit_and_sample("independent", frame[["customer_id", "x"]], 30, seed=0)
    assert not set(synthetic["customer_id"]) & set(frame["customer_id"])


def test_max_minutes_stops_training(real):
    generator = make_generator("tvae", epochs=50, max_minutes=1e-9, device="cpu")
    report = generator.fit(real, seed=0)
    assert report.stopped == "max_minutes" and report.epochs == 0 and report.epochs_planned == 50
    assert len(generator.sample(10, seed=0)) == 10


def test_missing_values_survive(real):
    frame = real.copy()
    frame.loc[::5, "income"] = np.nan
    frame.loc[::7, "group"] = None
    synthetic, _ = fit_and_sample("gaussian_copula", frame, 2000, seed=0)
    assert 0.1 < synthetic["income"].isna().mean() < 0.3
    assert 0.07 < synthetic["group"].isna().mean() < 0.22


def test_fit_and_sample_ignores_epochs_for_baselines(real):
    synthetic, report = fit_and_sample("independent", real, 12, seed=1, max_minutes=1, epochs=3)
    assert len(synthetic) == 12 and report.epochs == 0


# -- encoder and domains: known answers ----------------------------------------------------
def test_encoder_round_trip_is_exact_for_one_hot_input():
    x = np.concatenate([np.zeros(40), np.linspace(1, 60, 59), [np.nan]])  # 40 % zeros: a point mass
    frame = pd.DataFrame({"x": x, "c": (["a", "b", None, "a"] * 25)})
    schema = Schema({"x": ColumnKind.NUMERIC, "c": ColumnKind.CATEGORICAL})
    domains, _, _ = fit_domains(frame, schema)
    encoder = TableEncoder.fit(frame, domains, private=False, rng=np.random.default_rng(0), max_modes=4)
    assert encoder.modes["x"]["points"] == [0.0]
    assert encoder.modes["x"]["edges"][0] == 0.0 and encoder.modes["x"]["edges"][-1] == 60.0
    matrix, _, keep = encoder.encode(frame)
    assert keep.all()
    back = encoder.decode(matrix)
    np.testing.assert_allclose(back["x"], frame["x"], rtol=1e-6)
    assert back["c"].tolist() == frame["c"].tolist()


def test_signed_grid_cells():
    x = np.array([0.0, 1e-9, 1.0, 1.5, 2.0, -3.0, 100.0])
    cells = _grid_cell(x)
    assert cells[0] == cells[1]  # both inside the zero cell
    assert _cell_edges(cells[2]) == (1.0, 2.0) and _cell_edges(cells[3]) == (1.0, 2.0)
    assert _cell_edges(cells[4]) == (2.0, 4.0) and _cell_edges(cells[5]) == (-4.0, -2.0)
    assert _cell_edges(cells[6]) == (64.0, 128.0)


def test_domain_file_kinds_and_declared_bounds(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(
        "columns:\n  age: {kind: numeric, min: 18, max: 80, integral: true}\n"
        "  group: {categories: [a, b, c]}\n  note: text\n"
    )
    kinds, declared = load_domain_file(path)
    assert kinds == {"age": ColumnKind.NUMERIC, "note": ColumnKind.TEXT}
    assert declared == {"age": {"min": 18, "max": 80, "integral": True}, "group": {"categories": ["a", "b", "c"]}}
    path.write_text("columns:\n  age: {kind: numeric, lower: 1}\n")
    with pytest.raises(BadInputError, match="unknown key"):
        load_domain_file(path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; none on this machine")
@pytest.mark.parametrize("gid", ["ctgan", "tvae"])
def test_gpu_fit_sample_and_determinism(gid, real):
    generator = make_generator(gid, epochs=2, device="cuda")
    report = generator.fit(real, seed=0)
    assert report.device == "cuda"
    assert generator.sample(100, seed=1).equals(generator.sample(100, seed=1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_cuda_without_cuda_is_a_clear_error(real):
    with pytest.raises(GeneratorError, match="CUDA is not available"):
        make_generator("tvae", epochs=1, device="cuda").fit(real, seed=0)


@pytest.mark.parametrize("gid", generator_ids())
def test_missing_and_all_missing_columns_are_handled(gid, real):
    frame = real.copy()
    frame.loc[::4, "income"] = np.nan
    frame.loc[::3, "group"] = None
    frame["empty"] = np.nan
    generator = make_generator(gid, **fast_params(gid))
    generator.fit(frame, seed=0)
    synthetic = generator.sample(400, seed=0)
    assert synthetic["empty"].isna().all()
    assert set(synthetic["group"].dropna()) <= {"a", "b", "c"}
    if gid in ("independent", "gaussian_copula"):
        assert synthetic["income"].isna().any() and synthetic["group"].isna().any()


def test_public_names_are_pinned():
    import qaharness.generators as package

    assert sorted(package.__all__) == sorted(
        [
            "Generator",
            "GeneratorConfig",
            "FitReport",
            "Capabilities",
            "Progress",
            "register_generator",
            "generator_registry",
            "get_generator",
            "generator_ids",
            "load_generator",
            "resolve_device",
            "make_generator",
            "fit_and_sample",
            "generate_file",
        ]
    )


def test_generate_file_writes_a_tagged_table(real, tmp_path):
    from qaharness.provenance import read_manifest

    path, report = generate_file("independent", real, 25, tmp_path / "s.parquet", seed=4)
    manifest = read_manifest(path)
    assert manifest.generator == "independent" and manifest.seed == 4 and manifest.n_rows == 25
    assert report.rows == 200 and len(pd.read_parquet(path)) == 25


def test_zero_rows_with_conditions(fitted):
    assert len(fitted["tvae"].sample(0, seed=0, conditions={"label": ">50K"})) == 0
