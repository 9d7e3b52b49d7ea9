"""Rendering scores to audio: soundfont renderer, humanizer, DDSP performer."""
