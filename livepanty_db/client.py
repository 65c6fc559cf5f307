"""The Python client of the livepanty SQL API (psycopg 3), sync and async with the same method names.

Source layout: the asynchronous client (:mod:`livepanty_db.client_async`) is the one hand-written copy of
the API methods; the synchronous one (:mod:`livepanty_db.client_sync`) is generated from it by
``tools/async_to_sync.py`` (``make generate``), and a test fails while the generated file is stale. What
both share is in ``livepanty_db._client_common``. Import everything from here.

Design
------
* Every API call runs in a transaction. A :class:`Transaction` (:class:`AsyncTransaction`) wraps one open
  transaction and has one method per ``api`` function. Calling a method on the :class:`Client` itself runs
  it in a fresh transaction of its own, committed before the method returns, with nobody acting.
* Acting as a platform user is a per-transaction context, exactly as the SQL conventions define it::

      with client.session(token) as tx:         # the user's own session: api.authenticate(token) first
          tx.update_preferences(theme="dark")

      with client.acting_as(admin_id, reason="ticket 4711") as tx:   # back office: api.act_as, audited
          tx.set_user_role(user_id, "moderator")
          tx.list_users(role="moderator")       # same transaction, same acting user

  The database proves who acts (docs/CONVENTIONS.md, "Who is acting"): an identity exists only through
  ``api.authenticate`` or, for a login that is a member of ``livepanty_service``, ``api.act_as``.

  When the block ends normally the transaction commits; when it raises, it rolls back. After a refused call
  inside a block the transaction is aborted (PostgreSQL semantics): leave the block. A block that catches the
  refusal and ends normally raises ``DatabaseError`` (SQLSTATE 25P02) instead of committing: its work was
  rolled back, and nothing must look as if it had been done.
* ``role="livepanty_app"`` starts every transaction with ``SET LOCAL ROLE livepanty_app`` so that a
  superuser or DBA connection is held to the application's grants and row level security. The e-mail delivery
  service uses ``role="livepanty_mailer"``: :meth:`Client.claim_messages`, then ``mark_message_sent`` or
  ``mark_message_failed`` for each message (the only methods that role may call).
* Money operations (tips, holds, payments, payouts, adjustments) take a required keyword argument
  ``idempotency_key``: the same key and arguments return the original result (with ``replayed = True``),
  the same key with other arguments raises ``IdempotencyConflict``. The caller owns its retries and therefore
  its keys; the client never generates one (:func:`new_idempotency_key` makes a fresh one). A Python name
  that is a keyword gets a trailing underscore (``p_as`` -> ``as_``, ``p_from`` -> ``from_``,
  ``p_global`` -> ``global_``).
* Every psycopg error is turned into a :mod:`livepanty_db.errors` exception (``errors.translate``), the
  psycopg error kept as ``__cause__``. ``login`` raises ``InvalidCredentials`` / ``AccountSanctioned`` for
  the failures ``api.login`` reports in-band, ``change_password`` raises ``InvalidCredentials`` for a wrong
  current password (also in-band). Such an in-band refusal does not abort the transaction: when it leaves a
  ``with`` block, the block's transaction is committed first (docs/errors.md: the failure counter, lockout
  and audit record must persist), then the exception propagates.
* Built from a DSN, the client keeps its own ``psycopg_pool`` pool (``autocommit`` outside explicit
  transactions, ``prepare_threshold=None`` so it works behind pgbouncer in transaction mode; at most
  ``pool_size`` (16) connections, made on demand, each checked before it is handed out so that one the server
  closed while idle is replaced instead of failing the next call); :meth:`Client.close` closes it. The first
  use tries one direct connection, so a wrong DSN or an unreachable server raises ``ConnectionFailed``
  (SQLSTATE 08001) at once. Built from a ``psycopg_pool`` pool, it borrows a connection per transaction and
  never closes the pool (give it ``check=ConnectionPool.check_connection`` for the same robustness).
* Failures that may pass (deadlock, serialization failure, lock or statement timeout, server restart, lost
  connection) raise ``TransientError`` (``ConnectionFailed`` for connections), never a refusal class, with
  ``sqlstate`` set; :mod:`livepanty_db.retry` retries them on request (a lost connection only for a call
  declared ``idempotent``: keyed or read-only; else ``OutcomeUnknown``, as the call may have happened).
* ``replica=`` (a DSN, a pool, or a list of them) routes the read-only calls listed in
  ``_client_common.READ_ONLY_CALLS``, made on the client itself, to a replica whose replay lag is within
  ``max_replica_lag`` (else, or when it is down, to the primary; a routed call whose replica connection breaks
  mid-call is made once more on the primary, and the replica is left alone for a while); ``read_your_writes``
  (default on) keeps a user's reads on the primary until a replica has replayed past that user's last write
  through this client.
  Explicit transactions stay on the primary unless ``transaction(read_only=True, on_replica=True)`` or
  ``session(token, on_replica=True)``. See docs/operations.md, "Replicas, read routing and failover".
"""

from livepanty_db._client_common import (
    DEFAULT_LEASE,
    ISOLATION_LEVELS,
    MAX_POOL_SIZE,
    POOL_TIMEOUT,
    Id,
    IpAddress,
    new_idempotency_key,
)
from livepanty_db.client_async import AsyncClient, AsyncTransaction
from livepanty_db.client_sync import Client, Transaction

__all__ = [
    "DEFAULT_LEASE",
    "ISOLATION_LEVELS",
    "MAX_POOL_SIZE",
    "POOL_TIMEOUT",
    "AsyncClient",
    "AsyncTransaction",
    "Client",
    "Id",
    "IpAddress",
    "Transaction",
    "new_idempotency_key",
]
