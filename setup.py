"""Shim so Beam runners can ship this package to workers with --setup_file=./setup.py (metadata: pyproject.toml)."""

from setuptools import setup

setup()
