"""The API and CLI tests' fixtures (defined in ``tests/functional/api_support.py``)."""

from api_support import api, live_server  # noqa: F401
