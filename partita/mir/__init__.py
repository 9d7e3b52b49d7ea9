"""Music information retrieval: analysis, transcription, metrics, fidelity reports."""
