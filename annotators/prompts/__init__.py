"""Versioned prompt files (``<name>.yaml``), shipped as package data. A changed prompt gets a new file and version."""
