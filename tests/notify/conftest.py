"""A real SMTP server on 127.0.0.1 (aiosmtpd) that can be stopped and started again on the same port, and
helpers to build the people a notification goes to."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from maic.admin import set_user_email
from maic.db import transaction
from maic.models import User
from maic.notify.send import SendSettings
from tests.fixtures import make_user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    to: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""


@dataclass
class Mailbox:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(Received(list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.to]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def send_settings(smtp: SmtpServer | None, **overrides) -> SendSettings:
    values = {"smtp_host": "127.0.0.1" if smtp else "", "smtp_port": smtp.port if smtp else 25,
              "smtp_from": "maic@lrf.example", "public_url": "https://maic.lrf.example", "smtp_timeout": 5.0,
              "retry_seconds": 60, "max_attempts": 5}
    values.update(overrides)
    return SendSettings(**values)


def person(factory, role: str, address: str | None = None, **kwargs) -> User:
    """A user of the role, with an email address when one is given (set the admin's way)."""
    username = make_user(factory, role, **kwargs)
    with transaction(factory) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if address:
            set_user_email(session, "test-admin", user.id, address)
        session.flush()
        session.expunge(user)
    return user
