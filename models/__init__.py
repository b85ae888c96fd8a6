"""The model directories and, in models.tools, the Python tools that make and check them."""
