"""The release gate: evaluate only what a policy needs, judge it, write CI outputs, record it.

``run_gate`` is what ``qaharness gate`` and the demo call. It writes into ``out``:
``results.json`` (the evaluate contract plus verdict, policy and rules, sealed by ``qaharness.seal``),
``junit.xml`` and ``summary.md`` (also appended to ``$GITHUB_STEP_SUMMARY`` when that is set), the
reports if asked, and last ``run-manifest.json`` (every file's sha256: the run is complete); then it
records the run in the store (kind ``gate``) with those files as artifacts.

Exit codes (``GateResult.exit_code``): 0 pass (warnings allowed), 1 an error-severity rule
failed, or any warning under ``strict``. Bad input raises ``BadInputError`` / ``PolicyError`` (2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ._atomic import make_folder, write_text
from ._ci_outputs import summary_markdown, write_junit
from ._format import FAILING_STATUSES
from ._run_folder import RUN_MANIFEST, claim_folder, clear_outputs, write_run_manifest
from ._types import Source
from .api import evaluate_input, open_inputs
from .engine import Progress
from .errors import BadInputError, StoreBusyError
from .inputs import EvalInput
from .io import ReadLimits
from .keys import ensure_keys, load_signer
from .policy import LoadedPolicy, apply_policy, check_inputs, load_policy
from .results import Run
from .rules.synthetic_in_real import ALLOW_OPTION
from .seal import seal_run
from .store import RunStore
from .tickets import check_ticket

__all__ = [
    "GateResult",
    "run_gate",
    "gate_input",
    "write_outputs",
    "record_outputs",
    "exit_code_for",
    "merge_params",
    "STORE_TIMEOUT",
]

#: seconds a gate waits for a locked store before it keeps its outputs and says so (each write
#: holds the lock for well under a second; 8 parallel gates in tests/test_store_concurrency.py fit)
STORE_TIMEOUT = 30.0


@dataclass
class GateResult:
    """What a gate run produced. ``exit_code`` is what the CLI exits with."""

    run: Run
    policy: LoadedPolicy
    out: Path
    exit_code: int
    files: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None
    store: Path | None = None

    @property
    def verdict(self) -> str:
        return self.run.verdict or "pass"

    def failed_rules(self) -> list[str]:
        """Ids of rules that failed or errored (either severity), waived ones excluded."""
        return [r.id for r in self.run.rules or [] if r.status in FAILING_STATUSES]

    def __repr__(self) -> str:
        """A line, not the whole run (the run's JSON is tens of thousands of characters)."""
        policy = self.policy.ref
        return (
            f"GateResult(verdict={self.verdict!r}, exit_code={self.exit_code}, "
            f"policy='{policy.id} {policy.version}', rules={len(self.run.rules or [])}, "
            f"failed={self.failed_rules()!r}, out={str(self.out)!r}, run_id={self.run_id!r}, "
            f"files={sorted(self.files)!r})"
        )


def exit_code_for(verdict: str, *, strict: bool = False) -> int:
    return 1 if verdict == "fail" or (strict and verdict == "warn") else 0


def gate_input(
    data: EvalInput,
    policy: LoadedPolicy,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    command: list[str] | None = None,
    ticket: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    today: date | None = None,
    store: RunStore | None = None,
    options: Mapping[str, Any] | None = None,
) -> Run:
    """Compute the policy's metrics on prepared inputs and judge them; returns the judged run.

    Metric parameters come from the policy's ``params:``; ``params`` (``--param``) override them
    key by key. ``store`` is read by rules that look at earlier releases (``kind: budget``);
    ``options`` carry gate decisions rules read (``allow_synthetic_in_real``: the reason).
    """
    check_inputs(policy, data)  # rules that read the tables can apply to them, before any metric runs
    merged = merge_params(policy.policy.metric_params(), params)
    run = evaluate_input(
        data,
        metrics=policy.policy.metric_ids(),
        seed=seed,
        params=merged,
        progress=progress,
        command=command,
        ticket=ticket,
    )
    options = dict(options or {})
    allowed = str(options.get(ALLOW_OPTION) or "").strip()
    if allowed:  # recorded in the run whether or not a rule needed it
        note = f"synthetic rows in the real and holdout inputs allowed (--allow-synthetic-in-real): {allowed}"
        run = run.model_copy(update={"notes": [*run.notes, note]})
    return apply_policy(run, policy, today=today, data=data, store=store, options=options)


def merge_params(
    base: dict[str, dict[str, Any]], override: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Per-metric parameters: ``override`` wins key by key over ``base``."""
    out = {metric: dict(values) for metric, values in base.items()}
    for metric, values in (override or {}).items():
        out.setdefault(metric, {}).update(values)
    return out


def run_gate(
    real: Source,
    synthetic: Source,
    holdout: Source | None = None,
    *,
    out: str | Path,
    policy: str | Path | LoadedPolicy | None = None,
    target: str | None = None,
    task: str | None = None,
    schema: str | Path | dict | None = None,
    strict: bool = False,
    seed: int = 0,
    store: str | Path | None = None,
    record: bool = True,
    ticket: str | None = None,
    sensitive: Sequence[str] = (),
    progress: Progress | None = None,
    command: list[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    today: date | None = None,
    report: Sequence[str] = (),
    sign: bool = False,
    keys: str | Path | None = None,
    overwrite: bool = False,
    store_timeout: float = STORE_TIMEOUT,
    limits: ReadLimits | None = None,
    engine: str = "pandas",
    spark: Any = None,
    allow_synthetic_in_real: str | None = None,
) -> GateResult:
    """Gate ``synthetic`` against ``policy`` (default: the bundled default policy).

    Raises ``PolicyError``/``BadInputError`` for a bad policy or input (exit 2) — checked before any
    metric runs, as are the ticket, the signing key and ``out`` (a folder holding another run's files
    is refused unless ``overwrite``, which clears them). A breached policy is not an exception: read
    ``GateResult.verdict`` / ``exit_code``. ``report`` names report formats ("html", "pdf") rendered
    beside results.json; ``sign`` signs the PDF. results.json is sealed with the signer of ``keys``.
    A store still locked after ``store_timeout`` seconds raises ``StoreBusyError`` (outputs kept).
    ``engine``/``spark``: as ``qaharness.api.evaluate`` (``"spark"`` computes on Apache Spark).
    ``allow_synthetic_in_real`` (a reason) accepts synthetic rows in the real/holdout inputs. A
    synthetic table carrying a provenance manifest is appended to the store's privacy-budget ledger.
    """
    ticket = check_ticket(ticket)
    if allow_synthetic_in_real is not None and not allow_synthetic_in_real.strip():
        raise BadInputError("needs a reason (an augmentation study, say)", source="--allow-synthetic-in-real")
    if sign and "pdf" not in report:
        raise BadInputError("--sign needs --report with pdf (e.g. --report html,pdf)", source="--sign")
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    out = Path(out)
    claim_folder(out, overwrite=overwrite)
    db = RunStore(store)  # read by budget rules even without recording; written only when recording
    if record:
        db.check_writable()
    ensure_keys(keys)
    signer = load_signer(keys)  # a missing passphrase or token fails here, before any work
    with open_inputs(
        real,
        synthetic,
        holdout,
        engine=engine,
        spark=spark,
        seed=seed,
        target=target,
        schema=schema,
        task=task,
        sensitive=tuple(sensitive),
        limits=limits,
    ) as data:
        run = gate_input(
            data,
            loaded,
            seed=seed,
            progress=progress,
            command=command,
            ticket=ticket,
            params=params,
            today=today,
            store=db,
            options={ALLOW_OPTION: allow_synthetic_in_real} if allow_synthetic_in_real else None,
        )
    run = seal_run(run, signer=signer)
    result = GateResult(run=run, policy=loaded, out=out, exit_code=exit_code_for(run.verdict or "pass", strict=strict))
    result.files = write_outputs(run, out, strict=strict, overwrite=overwrite, manifest=False)
    if report:
        from .reports import render_reports

        written = render_reports(out, report, sign=sign, ticket=ticket, keys=keys)
        result.files.update({f"report.{fmt}": path for fmt, path in written.items()})
    result.files[RUN_MANIFEST] = write_run_manifest(out, result.files, run)  # last: the run is complete
    if record:
        record_outputs(result, store, timeout=store_timeout)
    return result


def record_outputs(result: GateResult, store: str | Path | None, *, timeout: float = STORE_TIMEOUT) -> None:
    """Record a finished gate in the store; a store locked past ``timeout`` keeps the outputs and says so."""
    db = RunStore(store, timeout=timeout)
    try:
        result.run_id = db.record_run(result.run, kind="gate", out_dir=result.out.resolve(), artifacts=result.files)
    except StoreBusyError as exc:
        busy = StoreBusyError(
            f"{exc} The run was not recorded; its outputs in {result.out} are complete. Record them later with "
            f"`qaharness runs record {result.out} --store {db.path}`.",
            store=str(db.path),
            out=str(result.out),
        )
        busy.result = result
        raise busy from None
    result.store = db.path
    _record_release(db, result.run, result.run_id)


def _record_release(db: RunStore, run: Run, run_id: str) -> None:
    """Append the gated synthetic table to the privacy-budget ledger when it carries a manifest."""
    from .budget import manifest_from_provenance, record_release, release_from_manifest

    manifest = manifest_from_provenance(run.provenance)
    real, synthetic = run.inputs.get("real"), run.inputs.get("synthetic")
    source = manifest.source_fingerprint if manifest else None
    source = source or (real.fingerprint if real else None)
    if manifest is None or not source:
        return
    release = release_from_manifest(
        manifest,
        origin="gate",
        source_fingerprint=source,
        tool="qaharness gate",
        run_id=run_id,
        synthetic=synthetic.source if synthetic else None,
    )
    record_release(db, release, manifest)


def write_outputs(
    run: Run, out: Path, *, strict: bool = False, overwrite: bool = False, manifest: bool = True
) -> dict[str, Path]:
    """results.json, junit.xml, summary.md (and the $GITHUB_STEP_SUMMARY append), then the run manifest.

    Each file is written atomically (``qaharness._atomic``: never through a planted symlink, never
    truncated by a crash). A folder holding another run's files is refused unless ``overwrite``, which
    removes them first. ``run`` is sealed first if it is not yet; ``manifest=False`` leaves the run
    manifest to the caller (written after the reports).
    """
    out = Path(out)
    claim_folder(out, overwrite=overwrite)
    make_folder(out, source=f"--out {out}")
    clear_outputs(out)
    run = run.sealed()
    files = {"results.json": run.write(out), "junit.xml": write_junit(run, out / "junit.xml", strict=strict)}
    summary = summary_markdown(run, strict=strict)
    files["summary.md"] = write_text(out / "summary.md", summary, source=f"--out {out}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(summary + "\n")
        except OSError as exc:
            raise BadInputError(
                f"cannot append the summary: {exc.strerror or exc}", source=f"$GITHUB_STEP_SUMMARY={step_summary}"
            ) from None
    if manifest:
        files[RUN_MANIFEST] = write_run_manifest(out, files, run)
    return files
