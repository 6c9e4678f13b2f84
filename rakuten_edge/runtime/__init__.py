"""The edge runtime: onnxruntime, numpy, pillow and tokenizers only.

from rakuten_edge.runtime import load
clf = load("bundles/cnn3-int8")
clf.predict("image.jpg", "Piscine hors sol tubulaire", top_k=3)
"""

from .classifier import Candidate, Classifier, Prediction, load
from .manifest import BundleError, read_manifest

__all__ = ["BundleError", "Candidate", "Classifier", "Prediction", "load", "read_manifest"]
