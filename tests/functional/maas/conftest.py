"""The MAAS API tests' fixtures (defined in ``maas_support.py``)."""

from maas_support import maas  # noqa: F401
