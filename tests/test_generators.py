"""Generators: conformance over every registered generator, the encoder, domains, conditions, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_mixed_frame

from qaharness.errors import BadInputError, GeneratorError, UnknownPluginError
from qaharness.generators import (
    Generator,
    fit_and_sample,
    generate_file,
    generator_ids,
    generator_registry,
    get_generator,
    make_generator,
)
from qaharness.generators._domain import _cell_edges, _grid_cell, fit_domains
from qaharness.generators._transform import TableEncoder
from qaharness.schema import ColumnKind, Schema, infer_schema, load_schema_file
from qaharness.testing.generators import CHECKS, GeneratorChecks, fast_params


@pytest.fixture(scope="module")
def real():
    return make_mixed_frame(200, 1)


@pytest.fixture(scope="module")
def conformance():
    """One ``GeneratorChecks`` per registered generator (each fits once, shared by its checks)."""
    return {gid: GeneratorChecks(gid) for gid in generator_ids()}


@pytest.fixture(scope="module")
def fitted(conformance):
    return {gid: checks.fitted for gid, checks in conformance.items()}


def test_builtins_are_registered():
    assert {"independent", "gaussian_copula", "ctgan", "tvae", "autoregressive"} <= set(generator_ids())


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("gid", generator_ids())
def test_conformance(gid, name, conformance):
    conformance[gid].run(name)


def test_conformance_helper_names_the_failed_check(real):
    class Broken(GeneratorChecks):
        pass

    checks = Broken("independent")
    original = checks.fitted.sample
    checks.fitted.sample = lambda n, *, seed, conditions=None: original(n, seed=0, conditions=conditions)
    with pytest.raises(AssertionError, match="independent-determinism: different seeds, same frame"):
        checks.run("determinism")
    with pytest.raises(KeyError, match="known: columns_dtypes_rows"):
        checks.run("nope")


def test_registry_unknown_id_lists_known_ones():
    with pytest.raises(UnknownPluginError, match="known: autoregressive, ctgan, gaussian_copula"):
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


def test_schema_file_kinds_and_declared_domains_in_one_format(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(
        "columns:\n  age: {kind: numeric, min: 18, max: 80, integral: true}\n"
        "  group: {categories: [a, b, c]}\n  note: text\n"
    )
    parsed = load_schema_file(path)
    assert parsed.kinds == {"age": ColumnKind.NUMERIC, "note": ColumnKind.TEXT}
    assert parsed.domains == {"age": {"min": 18, "max": 80, "integral": True}, "group": {"categories": ["a", "b", "c"]}}
    for text, message in [
        ("columns:\n  age: {kind: numeric, lower: 1}\n", "unknown key"),
        ("columns:\n  age: {kind: numeric, min: 9, max: 1}\n", "must not exceed max"),
        ("columns:\n  age: {kind: numeric, min: 9}\n", "declare both min and max"),
        ("columns:\n  age: {kind: categorical, min: 1, max: 9}\n", "declared for a categorical column"),
        ("columns:\n  g: {categories: a}\n", "non-empty list"),
        ("columns:\n  g: {kind: colour}\n", "unknown kind"),
    ]:
        path.write_text(text)
        with pytest.raises(BadInputError, match=message):
            load_schema_file(path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; none on this machine")
@pytest.mark.parametrize("gid", ["ctgan", "tvae", "autoregressive"])
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
