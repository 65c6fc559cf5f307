"""``livepanty-db config``: runtime settings and token bundles (operator tool, acting as an admin).

Every change is made by ``api.set_setting`` / ``api.set_bundle`` as the admin named by ``--as``, so it is
checked against the setting's range and audited with the old and new value.
"""

from __future__ import annotations

import json
from typing import Any

import click

from livepanty_db.cli.common import (
    acting,
    as_option,
    catalogued_errors,
    emit_models,
    emit_sections,
    field_names,
)
from livepanty_db.cli.output import note
from livepanty_db.models import Bundle, Setting

__all__ = ["command"]

SETTING_COLUMNS = field_names(Setting)
BUNDLE_COLUMNS = field_names(Bundle)


@click.group("config")
def command() -> None:
    """Runtime settings and token bundles (admins)."""


@command.command("show")
@as_option
@click.pass_context
@catalogued_errors
def show(ctx: click.Context, as_login: str) -> None:
    """Every setting and every token bundle (api.list_settings, api.list_bundles; json: {"settings": [...],
    "bundles": [...]})."""
    with acting(ctx, as_login) as tx:
        settings = tx.list_settings()
        bundles = tx.list_bundles()
    emit_sections([("settings", settings, SETTING_COLUMNS), ("bundles", bundles, BUNDLE_COLUMNS)])


def _json_value(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not JSON ({exc.msg}); a string needs its quotes, e.g. '\"write_off\"'", ctx, param
        ) from exc


@command.command("set")
@click.argument("key")
@click.argument("value", callback=_json_value)
@as_option
@click.pass_context
@catalogued_errors
def set_(ctx: click.Context, key: str, value: Any, as_login: str) -> None:
    """Set the setting KEY to VALUE, a JSON value: 2000, true, '"write_off"' (api.set_setting)."""
    with acting(ctx, as_login) as tx:
        setting = tx.set_setting(key, value)
    emit_models([setting], Setting)
    note(f"{setting.key} = {json.dumps(setting.value)}")


@command.command("bundle")
@click.argument("code")
@click.option("--tokens", type=int, required=True, help="Tokens in the bundle.")
@click.option("--price-minor", type=int, required=True, help="Price in minor units (cents).")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 currency of the price.")
@click.option("--inactive", is_flag=True, help="Take the bundle off sale (payments made keep it).")
@as_option
@click.pass_context
@catalogued_errors
def bundle(
    ctx: click.Context, code: str, tokens: int, price_minor: int, currency: str, inactive: bool, as_login: str
) -> None:
    """Create or change the token bundle CODE (api.set_bundle)."""
    with acting(ctx, as_login) as tx:
        row = tx.set_bundle(
            code=code, tokens=tokens, price_minor=price_minor, currency=currency, active=not inactive
        )
    emit_models([row], Bundle)
    note(
        f"bundle {row.code}: {row.tokens} tokens for {row.price_minor} {row.currency} minor units"
        + ("" if row.active else " (off sale)")
    )
