"""The owner's share servers, started and stopped from the Share tab while the app runs: the demo view (or, behind a
password the owner chose, the full app) on a public Gradio link, or on this computer's network for a phone on the same
Wi-Fi. Each is a Gradio server of its own on a port of its own; the app's context owns them, so nothing is global."""
from __future__ import annotations

import contextvars
import hmac
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from core.runstore.sharing import MIN_PASSWORD
from gui import words

ShareKind = Literal["public", "network"]
NO_ROUTE = "10.254.254.254"  # connecting a UDP socket sends nothing: it only asks the OS which address it would use
# Gradio keeps the Blocks being built in class attributes (gradio.context.Context), shared by every thread: two
# share servers built at once would mix their components, so one is built at a time.
_BUILDING = threading.Lock()


@dataclass(frozen=True)
class KindFacts:
    """Where a kind of share server listens and whether Gradio makes a public link for it."""

    host: str
    public_link: bool


KINDS: dict[str, KindFacts] = {
    "public": KindFacts("127.0.0.1", True),  # Gradio's tunnel reaches it from this computer
    "network": KindFacts("0.0.0.0", False),  # every interface: other devices on the same network reach it
}


@dataclass
class Shared:
    """One running share server: where visitors reach it, what they see and since when."""

    kind: str
    blocks: object  # gr.Blocks (kept untyped so that importing this module loads no Gradio)
    url: str
    local_url: str
    view: str
    protected: bool
    started: float


def lan_address() -> str | None:
    """This computer's address on its local network (None when it has none); no packet is sent to find it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((NO_ROUTE, 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def visitor_check(password: str) -> Callable[[str, str], bool]:
    """Gradio's login for a share server: any user name, this password (compared in constant time, never stored)."""
    expected = password.encode()

    def check(user: str, given: str) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), expected)

    return check


def _password(password: str | None, full: bool) -> str | None:
    """The visitor password to ask for (None for none); ValueError with a sentence when it is too short, or when
    the full app is asked for without one."""
    password = password or None
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValueError(words.SHARE_PASSWORD_SHORT.format(least=MIN_PASSWORD))
    if full and password is None:
        raise ValueError(words.SHARE_FULL_NEEDS_PASSWORD)
    return password


class ShareServers:
    """The app's share servers by kind: at most one of each; start replaces, stop closes (the link stops answering)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[str, Shared] = {}

    def get(self, kind: ShareKind) -> Shared | None:
        """The running server of this kind, if any."""
        with self._lock:
            return self._servers.get(kind)

    def start(self, ctx, kind: ShareKind, password: str | None = None, full: bool = False) -> Shared | None:
        """Serve the demo view (the full app when `full`, which needs a password) as `kind`; None when a public link
        was asked for and Gradio could not make one (then nothing is left running). ValueError with a sentence for a
        bad password or kind."""
        from gui.app import start  # the app's own builder and launcher (gui.app imports the Share tab, which imports
        #                           this module: imported here, when a server starts, there is no circle)

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {tuple(KINDS)}, not {kind!r}")
        password, facts = _password(password, full), KINDS[kind]
        self.stop(kind)
        view = "full" if full else "demo"
        with _BUILDING:  # in a context of its own: inside a handler, Gradio takes new components as page updates
            blocks = contextvars.Context().run(
                start, ctx, facts.host, None, share=facts.public_link, view=view,
                auth=visitor_check(password) if password else None, share_tab=False)
        url = blocks.share_url if facts.public_link else _network_url(blocks.server_port)
        if not url:
            close_server(blocks)
            return None
        shared = Shared(kind, blocks, url, blocks.local_url, view, password is not None, time.time())
        with self._lock:
            previous, self._servers[kind] = self._servers.get(kind), shared
        if previous is not None:  # another click started one meanwhile
            close_server(previous.blocks)
        return shared

    def stop(self, kind: ShareKind) -> bool:
        """Close the server of this kind; False when none was running."""
        with self._lock:
            shared = self._servers.pop(kind, None)
        if shared is None:
            return False
        close_server(shared.blocks)
        return True

    def stop_all(self) -> None:
        """Close every share server (when the app itself stops)."""
        for kind in KINDS:
            self.stop(kind)


def close_server(blocks) -> None:
    """Close a share server and the tunnel process behind its public link: Gradio's close frees the port but leaves
    the tunnel forwarding the old public address to it, which the next server on that port would answer."""
    from gradio import tunneling

    port = blocks.server_port
    blocks.close(verbose=False)
    for tunnel in [t for t in tunneling.CURRENT_TUNNELS if t.local_port == port]:
        tunnel.kill()
        tunneling.CURRENT_TUNNELS.remove(tunnel)


def _network_url(port: int) -> str:
    """The address a device on this network opens: this computer's network address and the server's port."""
    return f"http://{lan_address() or 'localhost'}:{port}/"
