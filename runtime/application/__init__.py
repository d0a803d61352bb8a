"""The application layer: the REST operations on workspaces, documents, sessions and feedback,
written once for both transports.

The local server's Starlette routes (``runtime/local/routes``) and the cloud's REST Lambda
(``runtime/handlers/rest_api.py``) only translate: they name the ``Caller``, read the request
into a model of ``requests.py``, call one operation with their ``Backend`` (``ports.py``) and
send the ``Reply`` (status and JSON view of ``views.py``). Nothing here imports numpy or an SDK
at module level.
"""

from .caller import ADMIN, WORKSPACE_MANAGER, Caller, local_caller
from .ports import Backend, Offer
from .views import Reply

__all__ = ["ADMIN", "WORKSPACE_MANAGER", "Backend", "Caller", "Offer", "Reply", "local_caller"]
