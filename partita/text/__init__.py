"""From text prompts to typed Attributes; sentence embeddings."""
