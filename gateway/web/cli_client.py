"""`rogatory client`: the reference client for magistrates and counterpart authorities.

client new-key       generate an API client key pair (private JWK 0600, public JWK)
client register-key  (gateway admin) register a client's public JWK for an authority
client seal          sign a request with the magistrate's key and encrypt it to the gateway
client submit        POST a sealed submission
client upload        stream a large attachment (sealed with --attach-large; needs the
                     upload_token of the submission's answer) to the gateway
client send          seal and submit a request with its large attachments in one
                     streamed request, each large file read once
client pull          token, inbox, lease, retrieve, decrypt, verify, unzip, acknowledge

Each command parses its arguments, calls gateway.services.reference_client and prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gateway.services import reference_client as service
from gateway.services.reference_client import ClientRefusal, GatewayAnswer
from gateway.web.cli import Context, pass_context


@contextmanager
def _refusals_as_click_errors() -> Iterator[None]:
    """A refusal of the client or the gateway: one `Error: ...` line, exit status 1."""
    try:
        yield
    except ClientRefusal as exc:
        raise click.ClickException(str(exc)) from None


def _print_answer(answer: GatewayAnswer, *, accepted: tuple[int, ...]) -> None:
    click.echo(json.dumps(answer.body, indent=2))
    if answer.status not in accepted:
        raise click.ClickException(f"refused ({answer.status})")


def _sealing_options(command: Callable[..., None]) -> Callable[..., None]:
    """REQUEST_FILE and the options `client seal` and `client send` share (a
    SealingChoices): who signs, the gateway it is encrypted to, inline attachments."""
    path = click.Path(exists=True, dir_okay=False, path_type=Path)
    decorators = (
        click.argument("request_file", type=click.Path(exists=True, path_type=Path)),
        click.option(
            "--key",
            "--p12",
            "key",
            type=path,
            required=True,
            help="A .p12/.pfx file, or a PEM key (plain or encrypted) with --cert.",
        ),
        click.option(
            "--cert",
            type=path,
            default=None,
            help="The PEM certificate of a PEM key (a .p12 carries its own).",
        ),
        click.option(
            "--password-file",
            type=path,
            default=None,
            help="File holding the password of the key file (or set ROGATORY_KEY_PASSWORD).",
        ),
        click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True),
        click.option("--gateway-id", default="rogatory-gateway", show_default=True),
        click.option("--message-id", default=None, help="Default: a fresh random id."),
        click.option("--attach", type=click.Path(exists=True, path_type=Path), multiple=True),
    )
    for decorate in reversed(decorators):  # listed in --help in this order
        command = decorate(command)
    return command


@click.group()
def client() -> None:
    """Reference client: seal and submit requests, pull and acknowledge deliveries."""


@client.command("new-key")
@click.option("--out", "private_out", type=click.Path(path_type=Path), required=True)
@click.option("--public-out", type=click.Path(path_type=Path), required=True)
def new_key(private_out: Path, public_out: Path) -> None:
    """Generate an EC P-256 client key: private JWK (mode 0600) and public JWK."""
    service.new_client_key(private_out, public_out)
    click.echo(f"client key written: private {private_out}, public {public_out}")


@client.command("register-key")
@click.argument("authority_id")
@click.argument("client_id")
@click.option("--jwk-file", type=click.Path(exists=True, path_type=Path), required=True)
@pass_context
def register_key(ctx: Context, authority_id: str, client_id: str, jwk_file: Path) -> None:
    """Register CLIENT_ID with its public JWK as an API client of AUTHORITY_ID."""
    from gateway.services.authority_registry import register_api_client

    with _refusals_as_click_errors():
        jwk = service.read_public_jwk(jwk_file)
    with ctx.database() as engine:
        register_api_client(engine, authority_id, client_id, jwk)
    click.echo(f"API client {client_id} registered for {authority_id}")


@client.command("seal")
@_sealing_options
@click.option(
    "--attach-large",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Listed by size + SHA-256 only; send it afterwards with 'client upload'.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True)
def seal(attach_large: tuple[Path, ...], out: Path, **choices: Any) -> None:
    """Sign REQUEST_FILE (+ inline attachments) and encrypt it to the gateway."""
    with _refusals_as_click_errors():
        size = service.seal_request(
            service.SealingChoices(**choices), attach_large=attach_large, out=out
        )
    click.echo(f"sealed submission written to {out} ({size} bytes)")


@client.command("submit")
@click.argument("sealed", type=click.Path(exists=True, path_type=Path))
@click.option("--url", required=True, help="Gateway base URL, e.g. https://gateway.example")
def submit(sealed: Path, url: str) -> None:
    """POST a sealed submission; prints the gateway's JSON answer."""
    _print_answer(service.submit_sealed(sealed, url), accepted=(202,))


@client.command("upload")
@click.argument("attachment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--message-id", required=True, help="The sealed submission's message id.")
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--url", required=True, help="Gateway base URL, e.g. https://gateway.example")
@click.option(
    "--token",
    required=True,
    envvar="ROGATORY_UPLOAD_TOKEN",
    help="The upload_token of the submission's answer (or ROGATORY_UPLOAD_TOKEN).",
)
def upload(attachment: Path, message_id: str, gateway_cert: Path, url: str, token: str) -> None:
    """Encrypt ATTACHMENT (sealed with --attach-large) as it streams to the gateway.

    CMS AuthEnvelopedData (AES-256-GCM, RSA-OAEP or ECDH; what ``openssl cms -encrypt
    -stream`` writes) in 1 MiB segments; neither side holds the file in memory.
    """
    with _refusals_as_click_errors():
        answer = service.upload_attachment(
            attachment, message_id=message_id, gateway_cert=gateway_cert, url=url, token=token
        )
    _print_answer(answer, accepted=(200, 201))


@client.command("send")
@_sealing_options
@click.option(
    "--attach-large",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="Encrypted and hashed as it is sent; listed in the signed manifest by SHA-256.",
)
@click.option("--url", required=True, help="Gateway base URL, e.g. https://gateway.example")
def send(attach_large: tuple[Path, ...], url: str, **choices: Any) -> None:
    """Sign, encrypt and submit REQUEST_FILE with its large attachments in one request.

    Each --attach-large file is read once: encrypted into the request body (CMS
    AuthEnvelopedData) and hashed for the signed manifest as it is sent. Prints the
    gateway's JSON answer (202, with the receipt).
    """
    from gateway.services.streamed_send import send_streamed

    with _refusals_as_click_errors():
        answer = send_streamed(
            service.SealingChoices(**choices), attach_large=attach_large, url=url
        )
    _print_answer(answer, accepted=(202,))


@client.command("pull")
@click.option("--url", required=True)
@click.option("--client-id", required=True)
@click.option("--client-key", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--key", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--ca", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--crl", type=click.Path(exists=True, path_type=Path), multiple=True)
@click.option("--sign-key", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--sign-cert", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--limit", type=int, default=20, show_default=True)
def pull(
    url: str,
    client_id: str,
    client_key: Path,
    key: Path,
    cert: Path,
    ca: Path,
    crl: tuple[Path, ...],
    sign_key: Path | None,
    sign_cert: Path | None,
    out: Path,
    limit: int,
) -> None:
    """Pull every waiting item into OUT/<request id>/ and acknowledge it (with --sign-*)."""
    events = service.pull_deliveries(
        url=url,
        client_id=client_id,
        client_key=client_key,
        key=key,
        cert=cert,
        ca=ca,
        crl=crl,
        sign_key=sign_key,
        sign_cert=sign_cert,
        out=out,
        limit=limit,
    )
    with _refusals_as_click_errors():
        for event in events:
            if event.outcome == "skipped":
                click.echo(f"{event.request_id}: skipped (lease refused)")
            elif event.outcome == "written":
                click.echo(f"{event.request_id}: {event.files} file(s) written")
            else:
                click.echo(f"{event.request_id}: acknowledged")
