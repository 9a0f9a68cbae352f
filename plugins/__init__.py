"""casetrack's built-in plugins; each registers exactly one module, ``plugins.<name>.hooks``."""
