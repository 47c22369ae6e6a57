"""Investigations behind the documented choices; run from the repository root as ``python -m experiments.<script>``."""
