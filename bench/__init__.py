"""Benchmarks: the engine against PyTorch on CPU and against hand-written NumPy, in one run."""
