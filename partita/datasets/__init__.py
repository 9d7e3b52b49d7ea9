"""partita.datasets"""
