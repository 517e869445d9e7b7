"""A local Airflow 3 deployment without Docker: see ``scripts/stack/local_stack.py``."""

from scripts.stack.local_stack import LocalStack

__all__ = ["LocalStack"]
