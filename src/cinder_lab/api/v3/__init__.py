"""The v3 controllers; mirrors cinder/api/v3/ (and the contrib extensions it loads)."""
