"""`python -m solutionbench OUT_JSON DOC_MD`: see bench/solutions/run.sh."""

import sys

from solutionbench.runner import main

sys.exit(main(sys.argv[1:]))
