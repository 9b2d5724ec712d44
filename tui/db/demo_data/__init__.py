"""Package data of the demo database: fixed DKIM private keys (demo only, published here).

The keys are shipped rather than generated so that the same seed gives the same database.
They sign nothing real: every signing domain is under example.com/.net/.org.
"""
