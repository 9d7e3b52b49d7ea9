"""The ABC family: a TunesFormer-style bar-patch model that writes tunes in ABC under form
control codes (sections, bars per section, which sections repeat), and its flat
character-level baseline.

``model.py`` the networks, their config, ``build``/``save``/``load``; ``data.py`` corpus tunes
to patches and batches; ``sample.py`` bar-by-bar (and flat) sampling; ``guards.py`` the form
rules as named predicates, the :class:`guards.FormGuard` that holds a tune to them while it
is written, and :func:`guards.check_tune`; ``train.py`` ``evaluate`` and ``train()`` through
:func:`partita.training.fit`. Tunes from a prompt, best of N, are in :mod:`partita.compose.tunes`.
"""
