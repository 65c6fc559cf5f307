"""The stream lifecycle through the Python client and the ``livepanty-db streams`` commands.

The SQL rules (every allow and deny path) are in tests/sql/test_streams.sql; this checks what the client
and the CLI add: typed results (co-performers as UUIDs, the consent's IP address), the typed errors
(GoLiveRefused with the gate's detail, AlreadyLive, InvalidStreamKey), the key shown once, and exit
statuses with nothing changed on a refusal.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from livepanty_db import Client, Stream, StreamConsent, StreamViewer, Viewing
from livepanty_db.cli import main
from livepanty_db.errors import (
    AlreadyLive,
    BlockedByPerformer,
    GoLiveRefused,
    InvalidStreamKey,
    NotWatching,
    PermissionDenied,
)

PASSWORD = "Correct-Horse-42"


def cli(db_url: str, *args: str, fmt: str | None = None, stdin: str | None = None) -> Result:
    options = ["--dsn", db_url] + (["--format", fmt] if fmt else [])
    return CliRunner().invoke(main, [*options, *args], input=stdin)


def one(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    [row] = json.loads(result.stdout)
    return row


def streams_state(db_url: str) -> tuple[Any, ...]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """
            SELECT (SELECT string_agg(concat_ws(',', id, status, stream_key_hash), ';' ORDER BY id)
                      FROM lp.streams),
                   (SELECT count(*) FROM lp.stream_consents),
                   (SELECT count(*) FROM lp.stream_performers),
                   (SELECT count(*) FROM lp.audit_logs WHERE action LIKE 'stream.%')
            """
        ).fetchone()
    assert row is not None
    return tuple(row)


def approve_kyc(db_url: str, user_id: Any) -> None:
    """An approved identity verification, as api.approve_kyc leaves it (tests/py/test_cli_economy.py goes
    through the whole KYC flow; here it is a fixture)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country,"
            " reviewed_at, expires_at) VALUES (%s, 'identity', 'approved', 'passport', 'DE', now(),"
            " now() + interval '1 year')",
            [user_id],
        )


@pytest.fixture
def cast(db_url: str) -> Iterator[dict[str, Any]]:
    """pia (host) and paul (co-performer), both verified; cora (performer, not verified); vic (viewer)."""
    client = Client(db_url)
    users: dict[str, Any] = {}
    people = (("pia", "performer"), ("paul", "performer"), ("cora", "performer"), ("vic", "viewer"))
    for name, role in people:
        account = client.register_user(
            email=f"{name}@example.com", username=name, password=PASSWORD, date_of_birth="1990-01-01",
            role=role,
        )  # fmt: skip
        users[name] = account.id
        users[f"{name}_token"] = client.login(name, PASSWORD).token
    approve_kyc(db_url, users["pia"])
    approve_kyc(db_url, users["paul"])
    users["client"] = client
    yield users
    client.close()


def test_the_lifecycle_through_the_client(db_url: str, cast: dict[str, Any]) -> None:
    client: Client = cast["client"]
    with client.session(cast["pia_token"]) as tx:
        stream = tx.schedule_stream("Duo night", category="couples", tags=["Duo", "duo", "night"])
        assert isinstance(stream, Stream)
        assert (stream.status, stream.tags, stream.performers) == ("scheduled", ["duo", "night"], [])
        stream = tx.add_stream_performer(stream.id, cast["paul"])
        assert stream.performers == [cast["paul"]]
        consent = tx.consent_to_stream(stream.id, ip_address="203.0.113.7", user_agent="studio")
        assert isinstance(consent, StreamConsent)
        assert consent.ip_address == ipaddress.ip_address("203.0.113.7")
    # paul has not consented: the gate names him, and nothing changed.
    before = streams_state(db_url)
    with pytest.raises(GoLiveRefused) as refused, client.session(cast["pia_token"]) as tx:
        tx.start_stream(stream.id)
    assert refused.value.sqlstate == "LP120"
    assert refused.value.detail == "paul: no consent for this stream"
    assert streams_state(db_url) == before
    with client.session(cast["paul_token"]) as tx:
        tx.consent_to_stream(stream.id, ip_address="198.51.100.4")
    with client.session(cast["pia_token"]) as tx:
        started = tx.start_stream(stream.id)
    assert started.status == "live"
    assert len(started.stream_key) == 43
    assert started.stream_key not in repr(started)  # the key is never printed by accident
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT stream_key_hash FROM lp.streams WHERE id = %s", [stream.id]).fetchone()
    assert stored == (hashlib.sha256(started.stream_key.encode()).digest(),)

    service = Client(db_url, role="livepanty_service")
    assert service.check_stream_key(started.stream_key).id == stream.id
    with client.session(cast["pia_token"]) as tx:
        rotated = tx.rotate_stream_key(stream.id)
    with pytest.raises(InvalidStreamKey):
        service.check_stream_key(started.stream_key)
    assert service.check_stream_key(rotated.stream_key).id == stream.id

    with client.session(cast["pia_token"]) as tx:
        second = tx.schedule_stream("Late show")
        tx.consent_to_stream(second.id, ip_address="203.0.113.7")
    with pytest.raises(AlreadyLive), client.session(cast["pia_token"]) as tx:
        tx.start_stream(second.id)
    with pytest.raises(PermissionDenied), client.session(cast["vic_token"]) as tx:
        tx.end_stream(stream.id)
    with client.session(cast["vic_token"]) as tx:
        assert tx.get_stream(stream.id).title == "Duo night"
    with client.session(cast["pia_token"]) as tx:
        ended = tx.end_stream(stream.id, reason="good night")
    assert (ended.status, ended.end_reason, ended.unique_viewers, ended.tips_count) == (
        "ended", "good night", 0, 0,
    )  # fmt: skip
    with pytest.raises(InvalidStreamKey):
        service.check_stream_key(rotated.stream_key)
    service.close()


def test_the_streams_commands(db_url: str, cast: dict[str, Any]) -> None:
    args = ("streams", "schedule", "--as", "pia", "--title", "Solo", "--tag", "chat")
    stream = one(cli(db_url, *args, fmt="json"))
    assert (stream["status"], stream["tags"]) == ("scheduled", ["chat"])
    one(cli(db_url, "streams", "add-performer", stream["id"], "cora", "--as", "pia", fmt="json"))
    one(cli(db_url, "streams", "consent", stream["id"], "--as", "pia", "--ip", "203.0.113.7", fmt="json"))
    one(cli(db_url, "streams", "consent", stream["id"], "--as", "cora", "--ip", "203.0.113.8", fmt="json"))

    before = streams_state(db_url)
    refused = cli(db_url, "streams", "start", stream["id"], "--as", "pia")
    assert refused.exit_code == 1
    assert "error [LP120]: the stream cannot go live" in refused.stderr
    assert "detail: cora: no approved identity verification" in refused.stderr
    assert streams_state(db_url) == before
    usage = cli(db_url, "streams", "schedule", "--as", "pia", "--title", "x", "--visibility", "secret")
    assert usage.exit_code == 2
    assert "'secret' is not a stream_visibility" in usage.output
    assert streams_state(db_url) == before

    one(cli(db_url, "streams", "remove-performer", stream["id"], "cora", "--as", "pia", fmt="json"))
    started = cli(db_url, "streams", "start", stream["id"], "--as", "pia")
    assert started.exit_code == 0, started.output
    key = started.stderr.split("stream key (shown once): ")[1].split()[0]
    assert len(key) == 43
    checked = one(cli(db_url, "streams", "check-key", "--key-stdin", stdin=key + "\n", fmt="json"))
    assert (checked["id"], checked["status"]) == (stream["id"], "live")
    prompted = one(cli(db_url, "streams", "check-key", stdin=key + "\n", fmt="json"))
    assert prompted["id"] == stream["id"]
    on_argv = cli(db_url, "streams", "check-key", "--key", key)  # a secret on argv shows in ps: refused
    assert on_argv.exit_code == 2
    assert "No such option '--key'" in on_argv.output
    shown = one(cli(db_url, "streams", "show", stream["id"], "--as", "vic", fmt="json"))
    assert shown["title"] == "Solo"
    ended = cli(db_url, "streams", "end", stream["id"], "--as", "pia")
    assert ended.exit_code == 0
    assert f"stream {stream['id']} ended" in ended.stderr
    assert cli(db_url, "streams", "check-key", "--key-stdin", stdin=key + "\n").exit_code == 1


def test_viewers_through_the_client_and_the_cli(db_url: str, cast: dict[str, Any]) -> None:
    client: Client = cast["client"]
    with client.session(cast["pia_token"]) as tx:
        stream = tx.schedule_stream("Watch me")
        tx.consent_to_stream(stream.id, ip_address="203.0.113.7")
        tx.start_stream(stream.id)
    with client.session(cast["vic_token"]) as tx:
        joined = tx.join_stream(stream.id, ip_address="198.51.100.9")
    assert isinstance(joined, Viewing)
    assert (joined.viewers, joined.left_at) == (1, None)
    with client.session(cast["vic_token"]) as tx:
        beat = tx.heartbeat_stream(stream.id)
    assert (beat.session_id, beat.viewers) == (joined.session_id, 1)
    assert client.count_guest(stream.id) == 1
    with client.session(cast["pia_token"]) as tx:
        assert tx.get_stream(stream.id).current_viewers == 1
        [watching] = tx.list_stream_viewers(stream.id)
    assert isinstance(watching, StreamViewer)
    assert watching.username == "vic"

    listed = cli(db_url, "streams", "viewers", stream.id.hex, "--as", "pia", fmt="json")
    watching_rows = json.loads(listed.stdout)
    assert [row["username"] for row in watching_rows] == ["vic"]
    blocked = one(cli(db_url, "streams", "block", "vic", "--as", "pia", "--reason", "spam", fmt="json"))
    assert blocked["reason"] == "spam"
    with pytest.raises(NotWatching), client.session(cast["vic_token"]) as tx:
        tx.heartbeat_stream(stream.id)
    with pytest.raises(BlockedByPerformer), client.session(cast["vic_token"]) as tx:
        tx.join_stream(stream.id)
    assert cli(db_url, "streams", "unblock", "vic", "--as", "pia").exit_code == 0
    with client.session(cast["vic_token"]) as tx:
        assert tx.join_stream(stream.id).viewers == 1
    with psycopg.connect(db_url) as conn:  # the player went away 10 minutes ago
        conn.execute(
            "UPDATE lp.stream_viewers SET joined_at = joined_at - interval '10 minutes',"
            " last_heartbeat_at = last_heartbeat_at - interval '10 minutes' WHERE left_at IS NULL"
        )
    swept = one(cli(db_url, "jobs", "sweep-viewers", fmt="json"))
    assert (swept["job"], swept["processed"]) == ("sweep_viewers", 1)
    with client.session(cast["pia_token"]) as tx:
        assert tx.get_stream(stream.id).current_viewers == 0


def test_the_leaderboard_command(db_url: str, cast: dict[str, Any]) -> None:
    client: Client = cast["client"]
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(), ARRAY["
            "ROW(lp.system_wallet('issuance'), -1000, 'purchase', 0, false)::lp.posting,"
            "ROW((SELECT id FROM lp.wallets WHERE user_id = %s), 1000, 'purchase', 0, false)::lp.posting])",
            [cast["vic"]],
        )
    with client.session(cast["vic_token"]) as tx:
        tx.tip(cast["pia"], 40, idempotency_key="lb-1")
        tx.tip(cast["pia"], 15, idempotency_key="lb-2", is_anonymous=True)
    shown = cli(db_url, "streams", "leaderboard", "pia", "--as", "vic", "--period", "day", fmt="json")
    rows = json.loads(shown.stdout)
    assert [(r["tipper_name"], r["tokens"]) for r in rows] == [("vic", 40), ("anonymous", 15)]
    assert cli(db_url, "streams", "leaderboard", "pia", "--as", "vic", "--period", "year").exit_code == 2
