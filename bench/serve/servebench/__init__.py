"""servebench: the harness that starts each model server, loads it with wrk and writes results.

Standard library only, so it runs under any Python 3.11 and never shares a venv with a peer.
"""
