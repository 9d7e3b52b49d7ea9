"""The theme family: the Theme Transformer (a melody that states a given theme again and
again) and the contrastive theme finder whose themes it trains on.

``data`` melody tokens and training pairs; ``model`` the networks, save and load;
``sample`` generation; ``measures`` how closely a melody states a theme; ``retrieval`` the
theme finder (segments, embedder, clustering); ``train`` both trainings.
"""
