"""Versioned synthetic-data recipes (``<name>_v<N>.yaml``), shipped as package data; see ``synth.recipe``."""
