"""flowrun: run Kestra-style YAML flows locally."""

__version__ = "0.1.0"
