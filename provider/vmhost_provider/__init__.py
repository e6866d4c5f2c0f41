"""Juju provider for vmhost."""
