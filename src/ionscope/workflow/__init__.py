"""Pipelines that chain the building blocks into results."""

from .structure import analyse_structure

__all__ = ["analyse_structure"]
