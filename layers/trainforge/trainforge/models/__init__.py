"""Database models and the typed shapes of the events Trainforge consumes."""
