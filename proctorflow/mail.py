"""Sending one e-mail over SMTP (the standard library's `smtplib`, run in a thread by the caller).

`PROCTORFLOW_SMTP_URL` says where and how:

- `smtp://host:25`: plain SMTP (a relay on the same host or network);
- `smtp://user:password@host:587?starttls=true`: STARTTLS, then login (the usual submission port);
- `smtps://user:password@host:465`: TLS from the first byte.

The user and password are URL-quoted (`%40` for an `@`). TLS checks the server's certificate
against the system's roots. `PROCTORFLOW_SMTP_SENDER` is the From address; the organisation's
sender name is its display name.

What a refusal means for the notice: the server refusing every recipient, or the message, with
a permanent (5xx) reply is permanent (`Refused`: the notice fails at once); anything else (no
answer, a dropped connection, a 4xx, a failed login, a refused sender) is worth trying again
(`NotSent`). Neither's text holds the server's address, the login or an e-mail address
(`proctorflow.scrub`).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from proctorflow.scrub import scrub

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class NotSent(Exception):
    """This try failed; a later one may succeed."""


class Refused(Exception):
    """The server refused it for good: trying again would be refused again."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool = False  # smtps://
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password, in a log line or a traceback
        login = f"{self.username}:***@" if self.username else ""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpTarget({scheme}://{login}{self.host}:{self.port}, starttls={self.starttls})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """The target of an `smtp://` or `smtps://` URL; ValueError saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("names no host (smtp://host:port)")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    query = {
        name: values[-1].lower() for name, values in parse_qs(parts.query, keep_blank_values=True).items()
    }
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"has an unknown option: {sorted(unknown)[0]} (only starttls=true|false)")
    starttls = query.get("starttls", "false")
    if starttls not in TRUE | FALSE:
        raise ValueError("starttls must be true or false")
    if parts.scheme == "smtps" and starttls in TRUE:
        raise ValueError("smtps:// is TLS already: starttls=true is for smtp://")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls in TRUE,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(
    *,
    message_id: str,
    sender: str,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    language: str | None = None,
) -> EmailMessage:
    """A plain-text, UTF-8 message. `to` may list several addresses, comma-separated."""
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(at)
    message["From"] = formataddr((sender_name, sender))
    message["To"] = to
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(body, charset="utf-8", cte="quoted-printable")  # 7-bit safe on any server
    if language:  # after the content, which sets the Content-* headers anew
        message["Content-Language"] = language
    return message


def send(target: SmtpTarget, message: EmailMessage, timeout: float) -> str | None:
    """Send it (blocking): None when every recipient was accepted, else what was refused (some
    recipients were, not all). Raises `NotSent` or `Refused`."""
    try:
        if target.implicit_tls:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with connection:
            if target.starttls:
                connection.starttls(context=ssl.create_default_context())
            if target.username:
                connection.login(target.username, target.password or "")
            refused = connection.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        reason = f"the server refused every recipient ({', '.join(map(str, sorted(set(codes))))})"
        if codes and all(code >= 500 for code in codes):
            raise Refused(reason) from None
        raise NotSent(reason) from None
    except smtplib.SMTPDataError as error:
        reason = f"the server refused the message: {error.smtp_code} {_text(error.smtp_error)}"
        if error.smtp_code >= 500:
            raise Refused(scrub(reason)) from None
        raise NotSent(scrub(reason)) from None
    except smtplib.SMTPAuthenticationError as error:
        raise NotSent(f"the server refused the login ({error.smtp_code})") from None
    except smtplib.SMTPSenderRefused as error:
        raise NotSent(f"the server refused the sender address ({error.smtp_code})") from None
    except smtplib.SMTPResponseException as error:
        raise NotSent(scrub(f"the server answered {error.smtp_code} {_text(error.smtp_error)}")) from None
    except smtplib.SMTPServerDisconnected:
        raise NotSent("the server closed the connection") from None
    except TimeoutError:
        raise NotSent("the server did not answer in time") from None
    except ssl.SSLError as error:
        raise NotSent(f"TLS failed ({type(error).__name__})") from None
    except (smtplib.SMTPException, OSError) as error:
        raise NotSent(f"the server could not be reached ({type(error).__name__})") from None
    if refused:
        codes = sorted({code for code, _ in refused.values()})
        return f"{len(refused)} recipient(s) refused ({', '.join(map(str, codes))})"
    return None


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
