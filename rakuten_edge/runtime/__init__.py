"""The edge runtime: onnxruntime, numpy, pillow and tokenizers only."""
