"""chatkiosk: a self-hosted, multi-user conversational agent server."""

__version__ = "0.1.0"
