"""``no_network`` (refuse and record every outgoing connection), shared with the validation tests."""

from tests.unit.validation.test_operator_arguments import no_network

__all__ = ["no_network"]
