"""The pipeline benchmark (issue 4, "Numbers to report"): see bench/README.md."""
