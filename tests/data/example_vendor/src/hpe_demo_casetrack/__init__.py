"""An example vendor package for casetrack: the ``hpe_demo`` RMA channel (docs/plugin_hooks.md)."""
