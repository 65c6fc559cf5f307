"""livepanty-db: the livepanty PostgreSQL schema, migrations, SQL API and Python client."""

__version__ = "0.1.0"

from livepanty_db.client import AsyncClient, AsyncTransaction, Client, Transaction
from livepanty_db.errors import LivepantyError
from livepanty_db.models import (
    Authenticated,
    LoginResult,
    Preferences,
    PublicProfile,
    ResetRequest,
    Sanction,
    Session,
    SessionInfo,
    Setting,
    StreamStats,
    StreamSummary,
    UserAccount,
    UserSummary,
)

__all__ = [
    "AsyncClient",
    "AsyncTransaction",
    "Authenticated",
    "Client",
    "LivepantyError",
    "LoginResult",
    "Preferences",
    "PublicProfile",
    "ResetRequest",
    "Sanction",
    "Session",
    "SessionInfo",
    "Setting",
    "StreamStats",
    "StreamSummary",
    "Transaction",
    "UserAccount",
    "UserSummary",
    "__version__",
]
