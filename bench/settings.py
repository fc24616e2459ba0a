"""Benchmark-only settings: the production settings plus a bare JSON view to compare with."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
