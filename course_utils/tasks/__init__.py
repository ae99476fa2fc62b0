"""Data tasks built on the toy world, one module per task (import them by module path)."""
