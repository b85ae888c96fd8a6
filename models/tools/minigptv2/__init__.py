"""PyTorch reference of MiniGPT-v2 (any size), its tokenizer, prompt rules and ONNX export."""
