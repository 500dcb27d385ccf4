"""Helpers and a pytest plugin for testing workflows without running their actions."""
