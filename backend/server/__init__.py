"""The backend HTTP service (`mogents serve`): FastAPI app, request guard, jobs, batching, state file.

    from backend.server import ServerLauncher, ServerSettings
    launcher = ServerLauncher(ServerSettings(port=0))
    launcher.prepare()          # load + verify + warm the generator, bind the socket
    launcher.serve()            # blocks; writes config_home()/server.json while listening

Clients: `backend.client.Client` (standard library only).
"""

from .config import ServerSettings
from .launcher import ServerLauncher

__all__ = ["ServerLauncher", "ServerSettings"]
