"""Catalogue scoring: a whole CSV through a bundle, streamed, resumable, locally or on Ray Data (score.py)."""

from .score import CatalogueOptions, Summary, score_catalogue

__all__ = ["CatalogueOptions", "Summary", "score_catalogue"]
