"""Helpers for testing and calibrating qaharness: seeded tables, shapes and planted defects.

``qaharness.testing.cases`` builds every calibration case (``cases.build(table, shape, case, seed)``);
``qaharness.testing.calibration`` runs one through the gate and judges the verdict against what the
case expects. Nothing here touches global random state.
"""
