"""Tokenizers: REMI with FIGARO descriptions, the AMT anticipation vocabulary, ABC bar patches.

Each tokenizer turns a Score into token ids and back and exposes a :class:`Grammar`.
"""
