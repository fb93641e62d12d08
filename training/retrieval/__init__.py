"""Retrieval encoders (TMR-like baseline, Motion Patches, LAVIMO): models, losses, training tasks, loading."""
