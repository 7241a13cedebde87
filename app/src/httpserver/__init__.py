"""cloudnative.httpserver: a Tornado web service configured by one YAML file."""

__version__ = "1.0.0"
