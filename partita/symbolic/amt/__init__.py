"""The anticipatory music transformer (AMT): a GPT-2 over the AMT vocabulary that accompanies,
infills and continues, with the given notes anticipated 5 s ahead.

``model.py`` the network, its config, ``load``/``save``; ``data.py`` corpus pieces to training
sequences; ``train.py`` its loss and ``train()`` through :func:`partita.training.fit`;
``guards.py`` the masks the sampler composes and the musical guards (:class:`guards.Guide`);
``sample.py`` :func:`sample.generate_events` and :func:`sample.merge`. The jobs built on it
(accompany, infill, continue) are in :mod:`partita.compose.accompany`.
"""
