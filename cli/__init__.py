"""The command line: `casetrack` and its command groups, the server launcher, the demo."""
