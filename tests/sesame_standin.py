"""A stand-in CDS Sesame on 127.0.0.1: a few names, answered in Sesame's text format.

It answers ``GET <url>/-oI/SNV?<name>`` as ``https://cds.unistra.fr/cgi-bin/nph-sesame``
does: a ``#=S=Simbad`` block with the ``%J`` position for a name it knows, ``Nothing
found`` for any other. ``asked`` lists the names it was asked, so a test can tell whether
an answer came from a cache. No test asks the real Sesame (conftest.py points
``APHOS_SESAME_URL`` at a stand-in that knows no name).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

PATH = "/cgi-bin/nph-sesame"


def found(name: str, ra_deg: float, dec_deg: float, database: str = "Simbad") -> str:
    """Sesame's answer for a name one database knows (the shape of a real ``-oI`` answer)."""
    return (
        f"# {name}\t#Q21930172\n"
        f"#={database[0]}={database} (via url):    1\n"
        "%@ 1151286\n"
        f"%I.0 V* {name}\n"
        "%C.0 EB*\n"
        f"%J {ra_deg:.7f} {dec_deg:+.7f} = 21 30 59.15 +70 49 23.6\n"
        "%J.E [0.0124 0.0131 90] A 2020yCat.1350....0G\n"
        "%P -1.842 +2.712 [0.017 0.018 90] A 2020yCat.1350....0G\n"
        "%I UCAC4 805-031770\n"
        "#B 89\n"
        "\n"
        "#====Done (2026-Dec-08,10:00:00z)====\n"
    )


def nothing_found(name: str) -> str:
    """Sesame's answer for a name none of its databases knows."""
    return (
        f"# {name}\t#Q21930173\n"
        "#=S=Simbad (via url):    ?\n"
        "#! *** Nothing found *** \n"
        "#=N=NED (local):    ?\n"
        "#! *** Nothing found *** \n"
        "#=V=VizieR (CDS, ViZieR):    ?\n"
        "#! *** Nothing found *** \n"
        "\n"
        "#====Done (2026-Dec-08,10:00:01z)====\n"
    )


class SesameStandIn:
    """Sesame for the names of ``answers`` (name -> the answer's text), on 127.0.0.1.

    ``delay`` holds every answer back that many seconds (a Sesame too slow to wait for).
    """

    def __init__(self, answers: dict[str, str] | None = None, *, delay: float = 0.0):
        self.answers = {" ".join(k.split()).lower(): v for k, v in (answers or {}).items()}
        self.delay = delay
        self.asked: list[str] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path != f"{PATH}/-oI/SNV":
                    return self._reply(404, b"not Sesame's address")
                name = unquote(url.query)
                standin.asked.append(name)
                if standin.delay:
                    time.sleep(standin.delay)
                key = " ".join(name.split()).lower()
                body = standin.answers.get(key) or nothing_found(name)
                return self._reply(200, body.encode())

            def _reply(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{PATH}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
