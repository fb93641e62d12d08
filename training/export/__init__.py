"""Export trained models for deployment: `onnx_export` writes the generator folder the backend runs."""
