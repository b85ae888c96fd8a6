"""The Python model tools, run from the repository root as modules: python3 -m models.tools.NAME (models/README.md)."""
