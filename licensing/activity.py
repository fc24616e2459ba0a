"""Activity ingestion. The licensing-activity work replaces this module (privacy filtering,
roll-up per user per day); the check-in API calls ``activity_ingest`` for every accepted event
that carries activity."""


def activity_ingest(*, account, tracked_user, observed_at, items):
    """Stores ``items`` ([{app, url, title, seconds}]) for ``tracked_user``. A stub here."""
    return None
