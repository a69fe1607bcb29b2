"""Entity extraction for the six assistant languages: dates, months, times, ids, quantities and gazetteer words."""

from nlu.entities.extractor import EntityExtractor

__all__ = ["EntityExtractor"]
