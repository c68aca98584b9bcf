"""Optimizer rules: one module each, pure functions ``plan -> plan``."""
