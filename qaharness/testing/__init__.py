"""Public helpers for testing and calibrating qaharness and its plugins.

- ``qaharness.testing.generators`` — the generator conformance checks a plugin author runs on their own
  generator (``tests/test_conformance_generators.py`` runs them over every registered generator);
- ``qaharness.testing.cases`` — seeded tables, shapes and planted defects for calibration
  (``cases.build(table, shape, case, seed)``); ``qaharness.testing.calibration`` runs one through the
  gate and judges the verdict against what the case expects.

Nothing here touches global random state.
"""
