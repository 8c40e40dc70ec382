"""The in-page sender of the upload widget: the browser posts the files to the api service.

ipywidgets' ``FileUpload`` carries the files' bytes in one websocket message, which breaks
above about 9 MB ("Invalid frame header"); a night of SIPS exports is 30-100 MB. Here the
browser sends them itself, straight to ``POST {api}api/v2/uploads`` with the hub's cookie and
the XSRF token, showing a sending bar; the kernel only learns the new upload's id, through a
hidden :class:`ipywidgets.Text` the page's script fills in (``upload_sender.js``).

The script is an HTML output of an :class:`ipywidgets.Output`: Voila and JupyterLab run the
scripts of the outputs they trust, which those of a kernel's own widgets are. No front-end
extension is needed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from html import escape
from importlib.resources import files

import ipywidgets as widgets

__all__ = ["BrowserSender", "sender_html"]

_SCRIPT = files("aphos_lib.widgets").joinpath("upload_sender.js").read_text(encoding="utf-8")
_STYLE = """<style>
.aphos-upload-sender{display:flex;flex-direction:column;gap:.4em;margin:.3em 0;max-width:60em}
.aphos-upload-sender .aphos-upload-row{display:flex;gap:.8em;align-items:center}
.aphos-upload-sender .aphos-upload-error{color:#a00}
.aphos-upload-sender .aphos-upload-notice{padding:.4em .6em;background:#fff4d6;
  border-left:3px solid #e0a800}
.aphos-upload-sender .aphos-upload-notice a,.aphos-upload-sender a{color:#0b57d0;
  text-decoration:underline}
.aphos-upload-sender .aphos-upload-refused{color:#a00;margin:0}
.aphos-upload-sender progress{width:24em;height:1em}
.aphos-upload-sender [hidden]{display:none !important}
.aphos-upload-sender .aphos-upload-send:disabled{opacity:.45;cursor:not-allowed}
</style>"""


def sender_html(api_url: str, bridge_class: str) -> str:
    """The sender's HTML and script, for an ``text/html`` output.

    Parameters
    ----------
    api_url : str
        The api service as the browser reaches it (a path on the page's origin, ending in /).
    bridge_class : str
        The CSS class of the hidden Text widget the script writes the upload's id into.
    """
    return f"""{_STYLE}
<div class="aphos-upload-sender" data-api="{escape(api_url)}" data-bridge="{escape(bridge_class)}">
 <div class="aphos-upload-notice" hidden></div>
 <div class="aphos-upload-row">
  <label>Choose SIPS files <input type="file" class="aphos-upload-picker" multiple
   accept=".csv,text/csv"></label>
  <button type="button" class="jupyter-button widget-button mod-primary aphos-upload-send"
   disabled>Send</button>
 </div>
 <div class="aphos-upload-chosen"></div>
 <ul class="aphos-upload-refused"></ul>
 <div class="aphos-upload-sending aphos-upload-row" hidden>Sending
  <progress class="aphos-upload-sending-bar" max="1" value="0"></progress>
  <span class="aphos-upload-sending-text"></span></div>
</div>
<script>{_SCRIPT}</script>"""


class BrowserSender(widgets.VBox):
    """The file picker, Send button and sending bar, run by the browser.

    Parameters
    ----------
    api_url : str
        The api service as the browser reaches it
        (:func:`aphos_lib.uploads.client.browser_api_url`).

    Examples
    --------
    >>> sender = BrowserSender("/services/api/")
    >>> sender.on_sent(lambda upload_id, job_id, files: print(upload_id, job_id, files))
    >>> sender.bridge.value = '{"upload_id": 7, "job_id": 9, "files": 60}'
    7 9 60
    """

    def __init__(self, api_url: str):
        self.api_url = api_url
        bridge_class = f"aphos-upload-bridge-{uuid.uuid4().hex}"
        # Hidden, but drawn: the script finds its input element by this class.
        self.bridge = widgets.Text(
            value="", continuous_update=True, layout=widgets.Layout(display="none")
        )
        self.bridge.add_class("aphos-upload-bridge")
        self.bridge.add_class(bridge_class)
        self.view = widgets.Output()
        self.view.add_class("aphos-upload-sender-view")
        # Set directly, not printed inside the Output: no kernel display context is needed.
        html = sender_html(api_url, bridge_class)
        data = {"text/html": html, "text/plain": "The upload sender (in a browser)"}
        self.view.outputs = ({"output_type": "display_data", "metadata": {}, "data": data},)
        self._callbacks: list[Callable[[int, int | None, int], None]] = []
        self.bridge.observe(self._told, names="value")
        super().__init__([self.view, self.bridge])

    def on_sent(self, callback: Callable[[int, int | None, int], None]) -> None:
        """Call ``callback(upload_id, job_id, files)`` for each upload the browser has sent."""
        self._callbacks.append(callback)

    def _told(self, change) -> None:
        try:
            message = json.loads(change["new"])
            upload_id, files = int(message["upload_id"]), int(message["files"])
            job_id = None if message.get("job_id") is None else int(message["job_id"])
        except (ValueError, TypeError, KeyError):
            return  # not the script's message (the Text is hidden: nobody types in it)
        for callback in self._callbacks:
            callback(upload_id, job_id, files)
