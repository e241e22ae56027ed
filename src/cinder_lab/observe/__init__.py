"""Seeing the routing: topology, message trace, route explanation and spans (lab-only)."""
