"""Builder local-process mode: venvs, child processes and the served-model registry."""
