"""Intent and entity understanding for Back Office Assistant: Rasa-format data in, Rasa-shaped parses out."""

from nlu.classifier import ClassifierConfig, IntentClassifier
from nlu.interpreter import ENGINE_VERSION, Interpreter, ModelFileError, data_fingerprint
from nlu.training_data import EntitySpan, Example, TrainingData, TrainingDataError, load_training_data

__all__ = [
    "ENGINE_VERSION",
    "ClassifierConfig",
    "EntitySpan",
    "Example",
    "IntentClassifier",
    "Interpreter",
    "ModelFileError",
    "TrainingData",
    "TrainingDataError",
    "data_fingerprint",
    "load_training_data",
]
