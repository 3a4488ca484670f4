"""HTTP and WebSocket entry point, served by daphne."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from sessions.routing import websocket_urlpatterns  # noqa: E402
from teletherapy import metrics  # noqa: E402
from teletherapy.dbroles import refuse_unsafe_roles_in_production  # noqa: E402
from teletherapy.log_redaction import redact_daphne_access_log  # noqa: E402

# Tokens in paths (invitations, set-up links, calendar feeds) never reach the access log.
redact_daphne_access_log()

# A production process must not run as a database role that could rewrite the audit trail.
refuse_unsafe_roles_in_production()

# This process's metrics, on a listener of its own when one is configured (teletherapy/metrics.py).
if settings.METRICS_ADDRESS:
    metrics.serve(settings.METRICS_ADDRESS)

# Everything loaded so far lives as long as the process: take it out of the garbage collector's
# view, so full collections stay short and do not stall requests (measured in benchmarks/).
gc.collect()
gc.freeze()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The signaling consumer checks the Origin itself, so that a refusal is audited and
        # closes with its own code (sessions/gate.py).
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
