"""Zone files and DKIM keys of the offline demo (package data; see tui.checks.demo_zone).

The private keys here are demo keys for example.com / example.net, published nowhere else.
"""
