"""sonde's runner for PuyPuy Python checks (see runner.py)."""
