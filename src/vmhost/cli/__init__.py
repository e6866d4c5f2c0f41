"""The ``vmhost`` command line (Typer + Rich). It talks to the server through
``vmhost.client`` only."""
