"""Unit tests of the model tools: python3 -m unittest discover -s models/tools/tests -t ."""
