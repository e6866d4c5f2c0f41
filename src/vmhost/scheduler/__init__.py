"""Pure scheduling: capacity maths, policy filters, exact fit, weighers. No I/O."""

from . import capacity
from .capacity import minimum_ratio
from .fit import NicChoice, Placement, Rejection, fit
from .numa import found_allocation
from .pipeline import Candidate, FitMemo, Schedule, describe, no_capacity_error, schedule

__all__ = [
    "Candidate",
    "FitMemo",
    "NicChoice",
    "Placement",
    "Rejection",
    "Schedule",
    "capacity",
    "describe",
    "fit",
    "found_allocation",
    "minimum_ratio",
    "no_capacity_error",
    "schedule",
]
