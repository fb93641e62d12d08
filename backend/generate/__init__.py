"""Text-to-motion inference (numpy): iterative masked decoding, editing and composition over a runtime."""
