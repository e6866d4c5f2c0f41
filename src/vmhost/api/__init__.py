"""The REST API (FastAPI): routes over the service layer, errors mapped in one place."""
