import os

from hypothesis import HealthCheck, settings

# "ci" runs more examples and never times out on a loaded machine; "dev" is the
# everyday default; "fast" is for a quick loop while editing.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("fast", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
