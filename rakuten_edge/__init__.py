"""rakuten-edge: train the five Rakuten multimodal product classifiers, export them to ONNX, run them anywhere."""

__version__ = "0.1.0"
