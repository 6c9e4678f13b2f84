"""The edge runtime: onnxruntime, numpy, pillow and tokenizers only.

from rakuten_edge.runtime import load
clf = load("bundles/cnn3-int8")
clf.predict("image.jpg", "Piscine hors sol tubulaire", top_k=3)
"""

from .answers import API, LENIENT, STRICT, Answers, Candidate, InputError, Policy, Prediction
from .classifier import Classifier, load
from .engine import EngineOptions, open_engine
from .manifest import BundleError, read_manifest

__all__ = [
    "API",
    "LENIENT",
    "STRICT",
    "Answers",
    "BundleError",
    "Candidate",
    "Classifier",
    "EngineOptions",
    "InputError",
    "Policy",
    "Prediction",
    "load",
    "open_engine",
    "read_manifest",
]
