"""Several nodes (an Asterisk with its Stasis app) on one PostgreSQL: the node registry and
its heartbeats, the take-over of a dead node's calls, and channel limits that hold across
all nodes together (docs/decisions.md, README "Growing to several nodes")."""
