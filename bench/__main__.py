"""`python -m bench [--invoices N] [--lifecycles N] [--repeats R] ...`: see bench/run.py."""
import os
import sys

from bench.run import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
