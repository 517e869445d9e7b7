"""Ratio benchmarks: each script compares against a baseline measured in the same run."""
