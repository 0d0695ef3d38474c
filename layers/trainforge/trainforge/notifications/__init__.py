"""Trainforge's own events (every change of status, a job waiting for capacity, a team's budget threshold) and
the notices they become: the outbox's relay to EventBridge, and the events' documented shapes."""
