"""The trainer of the default model, by role: its configuration and stages, the batches, the loss, the loop."""
