"""Readers for the official MiniGPT-v2 checkpoints and the ONNX graph writers of the exporter."""
