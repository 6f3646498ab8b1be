"""`rogatory users`: magistrate accounts of the web interface (add, list, disable, reset-totp).

`users add` and `users reset-totp` print the TOTP provisioning URI once; the gateway does
not show it again. The password is asked for interactively (or read from
ROGATORY_NEW_USER_PASSWORD for scripted setups) and never echoed.
"""

from __future__ import annotations

import click

from gateway.web.cli import Context, pass_context


@click.group()
def users() -> None:
    """Magistrate accounts of the web interface."""


@users.command("add")
@click.argument("username")
@click.option("--authority", "authority_id", required=True, help="Authority id of the user.")
@click.option("--name", "display_name", default=None, help="Name shown in the interface.")
@click.option(
    "--role",
    type=click.Choice(["magistrate", "translator"]),
    default="magistrate",
    show_default=True,
    help="A translator reviews machine translations of the authority's requests.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="ROGATORY_NEW_USER_PASSWORD",
    help="At least 12 characters (prompted; or ROGATORY_NEW_USER_PASSWORD).",
)
@pass_context
def add(
    ctx: Context,
    username: str,
    authority_id: str,
    display_name: str | None,
    role: str,
    password: str,
) -> None:
    """Create USERNAME for an authority; prints the TOTP provisioning URI once."""
    from gateway.runtime.container import load_kek
    from gateway.services import accounts

    with ctx.database() as engine:
        created = accounts.create_user(
            engine,
            username,
            authority_id,
            password,
            kek=load_kek(ctx.settings),
            display_name=display_name,
        )
        if role != "magistrate":
            from gateway.services.roles import set_role

            set_role(engine, username, role, actor="admin:cli")
    click.echo(
        f"user {created.user.username} created for {created.user.authority_id} (role {role})"
    )
    _show_totp(created.provisioning_uri)


@users.command("list")
@click.option("--authority", "authority_id", default=None)
@pass_context
def list_(ctx: Context, authority_id: str | None) -> None:
    """List users: name, authority, state, last sign-in."""
    from gateway.services import accounts

    with ctx.database() as engine:
        found = accounts.list_users(engine, authority_id)
    if not found:
        click.echo("no users")
    for user in found:
        state = "enabled" if user.enabled else "disabled"
        if user.enabled and user.locked_until is not None:
            state = f"locked until {user.locked_until.isoformat(timespec='seconds')}"
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        click.echo(f"{user.username}\t{user.authority_id}\t{state}\tlast sign-in {last}")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the user again (clears a lockout).")
@pass_context
def disable(ctx: Context, username: str, enable: bool) -> None:
    """Disable USERNAME and end its sessions at once (or --enable it again)."""
    from gateway.services import accounts

    with ctx.database() as engine:
        accounts.set_enabled(engine, username, enable)
    click.echo(f"user {username} {'enabled' if enable else 'disabled'}")


@users.command("reset-totp")
@click.argument("username")
@pass_context
def reset_totp(ctx: Context, username: str) -> None:
    """Give USERNAME a new TOTP secret (lost phone); prints the new URI once."""
    from gateway.runtime.container import load_kek
    from gateway.services import accounts

    with ctx.database() as engine:
        created = accounts.reset_totp(engine, username, kek=load_kek(ctx.settings))
    click.echo(f"new second factor for {username}; the old codes no longer work")
    _show_totp(created.provisioning_uri)


def _show_totp(uri: str) -> None:
    click.echo("TOTP provisioning URI (shown once; scan it as a QR code or paste it):")
    click.echo(f"  {uri}")
