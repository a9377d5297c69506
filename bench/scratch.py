"""The database a bench works in, never the desk's own: set up before ``django.setup()``.

SQLite: ``var/bench-<name>/helpdesk.sqlite3`` (``HELPDESK_VAR_DIR``). PostgreSQL (``DATABASE_URL`` set):
``<database>_bench_<name>`` on the same server, created when missing; ``DATABASE_URL`` is pointed at it.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class ScratchDatabase:
    def __init__(self, name: str) -> None:
        self.work = ROOT / "var" / f"bench-{name}"
        self.work.mkdir(parents=True, exist_ok=True)
        os.environ["HELPDESK_VAR_DIR"] = str(self.work)
        self.server_url = os.environ.get("DATABASE_URL")
        self.name = ""
        if self.server_url:
            parts = urlsplit(self.server_url)
            self.name = f"{parts.path.lstrip('/') or 'helpdesk'}_bench_{name.replace('-', '_')}"

    def ensure(self, *, drop: bool) -> None:
        """Create the database when missing (first empty when ``drop``) and point Django at it. Call it before
        Django connects, or after closing its connection."""
        if not self.server_url:
            if drop:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    (self.work / f"helpdesk.sqlite3{suffix}").unlink(missing_ok=True)
            return
        import psycopg  # only with PostgreSQL

        parts = urlsplit(self.server_url)
        # The server's maintenance database: the one named in DATABASE_URL need not exist.
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as server:
            if drop:
                server.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name]).fetchone() is None:
                server.execute(f'CREATE DATABASE "{self.name}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self.name}"))
