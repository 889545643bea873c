"""Imports every architecture module so that its @register_model decorators run."""
from . import fastcolor  # noqa: F401
