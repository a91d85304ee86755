"""pydantic v2 models of the domain."""
