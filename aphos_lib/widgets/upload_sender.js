// The upload page's sender (aphos_lib/widgets/upload_sender.py): the browser checks the chosen
// files, posts them straight to the api service with XMLHttpRequest (for the sending bar) and
// tells the kernel the new upload's id through a hidden Text widget. The files never travel
// through the widgets' websocket, whose messages break above about 9 MB.
//
// Signed in with the hub's cookie for the api service, plus its XSRF token, which this script
// asks the service for (the cookie holding it is httponly). File names are shown with
// textContent only: they are the observer's input and never become HTML.
(function () {
  "use strict";
  const MB = 1024 * 1024;
  // Signatures of the binary files observers pick by mistake (images, FITS, archives, PDF).
  const SIGNATURES = [
    ["PNG image", [0x89, 0x50, 0x4e, 0x47]], ["JPEG image", [0xff, 0xd8, 0xff]],
    ["GIF image", [0x47, 0x49, 0x46, 0x38]], ["TIFF image", [0x49, 0x49, 0x2a, 0x00]],
    ["TIFF image", [0x4d, 0x4d, 0x00, 0x2a]], ["FITS image", [0x53, 0x49, 0x4d, 0x50, 0x4c]],
    ["PDF document", [0x25, 0x50, 0x44, 0x46]], ["ZIP archive", [0x50, 0x4b, 0x03, 0x04]],
  ];

  function megabytes(n) {
    return (n / MB).toFixed(n < 10 * MB ? 2 : 1) + " MB";
  }

  function binaryKind(head) {
    for (const [kind, bytes] of SIGNATURES) {
      if (bytes.every((b, i) => head[i] === b)) return kind;
    }
    // SIPS writes text (UTF-8 or a Windows code page): no NUL and hardly any control bytes.
    let control = 0;
    for (const b of head) {
      if (b === 0) return "binary file";
      if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 26) control++;
    }
    return control > head.length / 100 ? "binary file" : null;
  }

  async function refusal(file, session) {
    const notSips = "is not a SIPS CSV export";
    if (!/\.csv$/i.test(file.name)) return `${notSips} (SIPS exports are .csv text files)`;
    if (file.size === 0) return "is empty";
    if (file.size > session.max_bytes) {
      return `is ${megabytes(file.size)}, over the limit of ${megabytes(session.max_bytes)}`;
    }
    const head = new Uint8Array(await file.slice(0, 65536).arrayBuffer());
    const kind = binaryKind(head);
    return kind ? `${notSips}: it is a ${kind}, not text` : null;
  }

  async function answerMessage(response) {
    try {
      return (await response.json()).message || response.statusText;
    } catch (e) {
      return response.statusText;
    }
  }

  function init(root) {
    root.dataset.ready = "1";
    const api = root.dataset.api;
    const part = (name) => root.querySelector(".aphos-upload-" + name);
    const picker = part("picker"), send = part("send"), notice = part("notice");
    const chosen = part("chosen"), refused = part("refused"), sending = part("sending");
    const bar = part("sending-bar"), barText = part("sending-text");
    let session = null, accepted = [], busy = false;

    function update() {
      const ready = session && session.username;
      send.disabled = busy || !ready || accepted.length === 0;
      picker.disabled = busy;
    }

    function say(element, text, kind) {
      element.textContent = text;
      element.classList.toggle("aphos-upload-error", kind === "error");
    }

    // The notice above the picker: sign in, or choose a username first (with the link).
    function showNotice(error) {
      notice.replaceChildren();
      notice.hidden = false;
      if (error) {
        notice.append(error.message);
        if (error.signIn) {
          const link = document.createElement("a");
          link.href = api + "signed-in";
          link.target = "_blank";
          link.textContent = "Sign in to the archive";
          notice.append(" ", link, ", then come back to this page.");
        }
      } else if (!session.username) {
        const link = document.createElement("a");
        link.href = session.profile_url;
        link.target = "_blank";
        link.className = "aphos-upload-profile-link";
        link.textContent = "choose your username";
        notice.append("Before sending, ", link,
          " (it is shown beside your uploads); then come back to this page.");
      } else {
        notice.hidden = true;
      }
      update();
    }

    // Signs this browser in to the api service in a hidden frame: the hub's OAuth flow passes
    // without a question for a signed-in observer and ends on the service's "signed-in" page.
    function signInFrame() {
      return new Promise((resolve) => {
        const frame = document.createElement("iframe");
        frame.hidden = true;
        const done = () => {
          clearTimeout(timer);
          frame.remove();
          resolve();
        };
        const timer = setTimeout(done, 20000);
        frame.addEventListener("load", () => {
          try {
            if (frame.contentWindow.location.pathname.endsWith("/signed-in")) done();
          } catch (e) {
            // Another origin mid-flow (an identity provider's page): the timer decides.
          }
        });
        frame.src = api + "signed-in";
        document.body.append(frame);
      });
    }

    async function readSession(mayRetry) {
      const response = await fetch(api + "api/v2/uploads/session",
        { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 && mayRetry) {
        await signInFrame();
        return readSession(false);
      }
      if (!response.ok) {
        const why = await answerMessage(response);
        const error = new Error(response.status === 401 ? `Not signed in to the archive (${why}).`
          : `The archive's upload service answered ${response.status}: ${why}.`);
        error.signIn = response.status === 401;
        throw error;
      }
      session = await response.json();
      showNotice();
      return session;
    }

    let sessionRead = readSession(true).catch((e) => { showNotice(e); return null; });
    // Back from the profile page in another tab: the username may be chosen now.
    window.addEventListener("focus", () => {
      if (!busy && !(session && session.username)) {
        sessionRead = readSession(true).catch((e) => { showNotice(e); return null; });
      }
    });

    picker.addEventListener("change", async () => {
      const files = Array.from(picker.files);
      accepted = [];
      refused.replaceChildren();
      const limits = (await sessionRead) || { max_files: 500, max_bytes: 20 * MB };
      for (const file of files) {
        const why = await refusal(file, limits);
        if (why) {
          const item = document.createElement("li");
          item.className = "aphos-upload-refused-file";
          item.textContent = `${file.name} ${why}: it will not be sent.`;
          refused.append(item);
        } else {
          accepted.push(file);
        }
      }
      if (accepted.length > limits.max_files) {
        say(chosen, `${accepted.length} files chosen: at most ${limits.max_files} go in one ` +
          "upload. Choose fewer, and send the rest afterwards.", "error");
        accepted = [];
      } else if (files.length && accepted.length === 0) {
        say(chosen, "No file to send: every file chosen was refused (below).", "error");
      } else if (files.length) {
        const total = accepted.reduce((sum, f) => sum + f.size, 0);
        say(chosen, `${accepted.length} file(s), ${megabytes(total)}, ready to send` +
          (refused.children.length ? `; ${refused.children.length} refused (below)` : ""),
          "chosen");
      } else {
        chosen.textContent = "";
      }
      update();
    });

    // The kernel learns of the upload through the hidden Text widget beside this sender.
    function tellKernel(message) {
      const widget = root.closest(".aphos-upload-widget");
      const input = widget && widget.querySelector("." + root.dataset.bridge + " input");
      if (!input) return false;
      input.value = JSON.stringify(message);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    }

    function finish(text, cls) {
      say(chosen, text, cls);
      busy = false;
      update();
    }

    send.addEventListener("click", async () => {
      busy = true;
      update();
      try {
        await readSession(true);  // a fresh XSRF token, and the username still there
      } catch (e) {
        showNotice(e);
        finish("Not sent.", "error");
        return;
      }
      if (!session.username) return finish("Not sent: choose your username first.", "error");
      const files = accepted;
      const total = files.reduce((sum, f) => sum + f.size, 0);
      const form = new FormData();
      form.append("client", "page");
      for (const file of files) form.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      const started = performance.now();
      xhr.open("POST", session.upload_url);
      xhr.setRequestHeader("X-XSRFToken", session.xsrf);
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        bar.max = e.total;
        bar.value = e.loaded;
        barText.textContent = `${megabytes(e.loaded)} of ${megabytes(e.total)} sent`;
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          // A proxy's error page: the status says enough.
        }
        if (xhr.status !== 202) {
          const why = (body && body.message) || xhr.statusText || "no answer";
          bar.value = 0;
          barText.textContent = "";
          return finish(`Not sent (${xhr.status}): ${why}. Nothing was stored.`, "error");
        }
        bar.value = bar.max;
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        barText.textContent = `${files.length} file(s), ${megabytes(total)}, sent in ${seconds} s`;
        const told = tellKernel({ upload_id: body.upload_id, job_id: body.job_id,
                                  files: body.files.length });
        picker.value = "";
        accepted = [];
        refused.replaceChildren();
        finish(told ? "" : `Upload ${body.upload_id} sent; follow it in your profile's upload log.`,
          "chosen");
      });
      xhr.addEventListener("error", () => {
        bar.value = 0;
        finish("Not sent: the connection to the archive broke. Nothing was stored; send again.",
          "error");
      });
      sending.hidden = false;
      bar.value = 0;
      barText.textContent = `sending ${files.length} file(s), ${megabytes(total)}`;
      xhr.send(form);
    });
    update();
  }

  document.querySelectorAll(".aphos-upload-sender:not([data-ready])").forEach(init);
})();
