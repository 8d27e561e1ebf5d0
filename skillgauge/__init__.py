"""The ``skillgauge`` command line: one entry point that dispatches to the packages."""
