"""Supervisor monitoring: the live wallboard (wallboard.py), a supervisor's forced pause and
logout of an agent (control.py), and listening in on calls (monitor.py)."""
