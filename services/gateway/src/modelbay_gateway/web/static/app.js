// Progressive enhancement of Modelbay's pages. Everything works without this file; with it,
// copy buttons appear and a version's pipeline updates live. No eval, no inline handlers (CSP).
"use strict";

function announce(message) {
  const announcer = document.getElementById("announcer");
  if (announcer) {
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = message; }, 50);
  }
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host: the older API still copies a selection.
  const scratch = document.createElement("textarea");
  scratch.value = text;
  scratch.setAttribute("readonly", "");
  scratch.className = "visually-hidden";
  document.body.appendChild(scratch);
  scratch.select();
  const copied = document.execCommand("copy");
  scratch.remove();
  if (!copied) throw new Error("copy refused");
}

function enableCopyButtons(root) {
  root.querySelectorAll("button[data-copy-target]").forEach((button) => {
    if (button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      if (!source) return;
      try {
        await copyText(source.value || source.textContent);
        button.textContent = "Copied";
        announce("Copied to the clipboard");
      } catch (error) {
        source.select();
        button.textContent = "Press Ctrl+C";
        announce("Copying is blocked; the text is selected, press Ctrl+C");
      }
      window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  });
}

// A version that is still in the pipeline: listen to its events and re-render the section on
// each one (the server renders status, stage times and a failure's reason). The gateway hears
// an event at the same moment as the catalog, which may not have recorded it yet, so each event
// re-renders now and twice more shortly after; a slow poll covers events lost in a reconnect.
const RERENDER_AFTER_EVENT_MS = [0, 1500, 5000];
const FALLBACK_POLL_MS = 30000;

function followPipeline() {
  const section = document.getElementById("pipeline");
  if (!section || !section.dataset.eventsUrl || !window.EventSource) return;
  const source = new EventSource(section.dataset.eventsUrl);
  let lastStatus = "";
  const render = () => {
    const current = document.getElementById("pipeline");
    if (!current || !current.dataset.fragmentUrl) return;
    window.htmx.ajax("GET", current.dataset.fragmentUrl, { target: "#pipeline", swap: "outerHTML" })
      .then(() => {
        const updated = document.getElementById("pipeline");
        const status = document.getElementById("version-status");
        const text = status ? status.textContent.trim() : "";
        if (text && text !== lastStatus) {
          lastStatus = text;
          announce("Status: " + text);
        }
        if (!updated || !updated.dataset.eventsUrl) {
          source.close();  // ready or failed: nothing more will happen
          window.clearInterval(poll);
        }
      });
  };
  const onEvent = () => RERENDER_AFTER_EVENT_MS.forEach((ms) => window.setTimeout(render, ms));
  const poll = window.setInterval(render, FALLBACK_POLL_MS);
  source.onmessage = onEvent;
  // Events carry their CloudEvents type as the SSE event name; the page lists the types.
  (section.dataset.eventTypes || "").split(" ").filter(Boolean)
    .forEach((type) => source.addEventListener(type, onEvent));
  // Events that happened before the stream opened: render once now.
  source.onopen = render;
}

// A version the catalog is still recording (version_recording.html): ask for the page again
// each second in the background and move on only when the answer changes: to the version's page
// once recorded (the server redirects), or to the "not recorded after two minutes" page. A
// reload each second (what the page does without scripts) made screen readers announce the
// notice again every time.
const RECORDING_POLL_MS = 1000;

function followRecording() {
  const notice = document.querySelector("[data-recording-poll]");
  if (!notice || !window.fetch) return;
  let poll = Number(notice.dataset.recordingPoll);
  const ask = async () => {
    const url = `${notice.dataset.recordingUrl}?poll=${poll}`;
    try {
      const answer = await window.fetch(url, { credentials: "same-origin" });
      const stillRecording = answer.ok && !answer.redirected
        && (await answer.text()).includes("data-recording-poll=");
      if (!stillRecording) {
        window.location.replace(answer.redirected ? answer.url : url);
        return;
      }
      poll += 1;
    } catch (error) {
      // The gateway did not answer this time (restarting, network): ask again next second.
    }
    window.setTimeout(ask, RECORDING_POLL_MS);
  };
  window.setTimeout(ask, RECORDING_POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  enableCopyButtons(document);
  followPipeline();
  followRecording();
});
document.addEventListener("htmx:afterSettle", (event) => enableCopyButtons(event.target));

// "Try it": htmx swaps 2xx answers only, and the server answers the form's own problems as 200.
// Anything else (the session ended, the form's token is stale, the gateway is down) would leave
// the box silent, so it says what happened and what to do.
document.addEventListener("htmx:responseError", (event) => {
  const box = event.target.closest ? event.target.closest(".try") : null;
  if (!box) return;
  let note = box.querySelector(".try-transport-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "field-error try-transport-error";
    note.setAttribute("role", "alert");
    box.appendChild(note);
  }
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  note.textContent = status === 403
    ? "This form is out of date (you signed in or out elsewhere): reload the page and try again."
    : `The call was not sent (HTTP ${status}): reload the page and try again.`;
  announce(note.textContent);
});
