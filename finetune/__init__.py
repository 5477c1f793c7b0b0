"""Trace generation, supervised fine-tuning, evaluation and export."""
