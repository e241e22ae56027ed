"""The lab's database; mirrors cinder/db (an api module over SQLAlchemy models)."""
