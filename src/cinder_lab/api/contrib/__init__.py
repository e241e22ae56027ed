"""Cinder's API extensions the lab serves; mirrors cinder/api/contrib/."""
