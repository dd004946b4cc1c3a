"""SQLite storage: the local session history and the inventory cache (paths from platformdirs)."""
