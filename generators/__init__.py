"""Generators: one protocol over baselines and PyTorch models, with a registry.

Built-ins (one file each): ``independent``, ``gaussian_copula``, ``ctgan``, ``tvae``, ``autoregressive``.
Third parties register through the ``qaharness.generators`` entry-point group.
"""

from ._api import fit_and_sample, generate_file, make_generator
from ._base import (
    Capabilities,
    FitReport,
    Generator,
    GeneratorConfig,
    Progress,
    generator_ids,
    generator_registry,
    get_generator,
    load_generator,
    register_generator,
    resolve_device,
)

__all__ = [
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
