"""The assistant's back office, for ML admins. Alias moves go through the registry's services (alias_set
underneath), so every move is in the append-only AliasChange history. Training starts a Celery task on the
training queue; in the embedded default Celery is eager and the action trains inline."""

from apps.assistant.admin import desk, learning, registry, versions  # noqa: F401 (each registers its admins)
