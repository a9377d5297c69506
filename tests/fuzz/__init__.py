"""Fuzz tests: bad input (websocket frames, import files, API requests) meets a clear error, never a crash.

Every test here uses the ``fuzz`` Hypothesis profile as its parent settings (``@settings(FUZZ, max_examples=N)``)
rather than loading it for the whole session, so the rest of the suite is left as it is.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    # The same examples on every run: CI is deterministic and a failure reproduces on any machine.
    derandomize=True,
    # Nothing to replay between runs when every run draws the same examples; no .hypothesis/ files either.
    database=None,
    # A websocket round trip or a database write takes what the machine's load makes it take.
    deadline=None,
    # Each example does real I/O (a socket, a file, a transaction): slow data generation is not the problem
    # this health check is there to find.
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz")
