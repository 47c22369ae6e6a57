"""The shipped YAML configs, installed as the ``ssl_kit_configs`` package data."""
