"""Runs on disk: one folder per run (store) and the one checkpoint schema its writer and readers share
(checkpoint). Used by training and inference; imports nothing of them."""
