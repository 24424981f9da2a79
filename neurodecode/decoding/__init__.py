"""Decoding stimuli from brain data; ``items``: image (item) decoding with brain encoders."""
