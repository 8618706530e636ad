"""Runs on disk, the layer every other one asks about a run: one folder per run, owned by `folder.RunFolder` (its
files by name, the rule that an evaluation is current), its log read back (`log`), the runs table and its chores
(`table`), the training process's claim (`owner`), the checkpoint schema (`checkpoint`), sharing marks, and a
project in one zip. Imports data, system and events below it, nothing above."""
