// gxc console: progressive enhancement only; every page works without this file.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Show only the fieldsets that belong to the chosen option (data-choice="name" on radios, data-when="name=value").
  function applyChoices(form) {
    form.querySelectorAll("[data-when]").forEach(function (el) {
      const [name, value] = el.dataset.when.split("=");
      const checked = form.querySelector('input[name="' + name + '"]:checked');
      el.hidden = !!checked && checked.value !== value;
    });
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector("[data-when]")) return;
    applyChoices(form);
    form.addEventListener("change", function () { applyChoices(form); });
  });

  // Ask before destructive actions.
  document.addEventListener("submit", function (event) {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Policy preview as you type: the form is posted to data-preview (JSON answer) after a short pause.
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    const out = document.getElementById(form.dataset.previewTarget);
    let timer = null;
    let sequence = 0;
    function render(answer) {
      out.replaceChildren();
      const status = document.createElement("p");
      status.className = answer.ok ? "badge ok" : "badge bad";
      status.textContent = answer.ok ? "Valid policy" : "Not valid yet";
      out.appendChild(status);
      const list = document.createElement("ul");
      list.className = "words";
      (answer.ok ? answer.words : answer.errors).forEach(function (line) {
        const item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      });
      out.appendChild(list);
      if (answer.ok && answer.jsonld) {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = "ODRL (JSON-LD)";
        const pre = document.createElement("pre");
        pre.textContent = JSON.stringify(answer.jsonld, null, 2);
        details.append(summary, pre);
        out.appendChild(details);
      }
    }
    function preview() {
      const mine = ++sequence;
      const data = new FormData(form);
      data.delete("upload");
      fetch(form.dataset.preview, { method: "POST", body: data, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) { if (mine === sequence) render(answer); })
        .catch(function () { out.textContent = "Could not check the policy (connection lost?)."; });
    }
    form.addEventListener("input", function (event) {
      if (!event.target.closest("[data-policy]")) return;
      clearTimeout(timer);
      timer = setTimeout(preview, 300);
    });
    form.addEventListener("change", function (event) {
      if (event.target.closest("[data-policy]")) preview();
    });
    preview();
  });

  // Live regions: on a server-sent event, re-read this page and swap every [data-live] element by id.
  const live = document.querySelectorAll("[data-live]");
  const indicator = document.getElementById("live-indicator");
  if (live.length && window.EventSource) {
    let pending = null;
    function refresh() {
      pending = null;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          const fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live]").forEach(function (el) {
            const replacement = fresh.getElementById(el.id);
            if (replacement && replacement.innerHTML !== el.innerHTML) el.innerHTML = replacement.innerHTML;
          });
        });
    }
    const source = new EventSource(document.body.dataset.events);
    source.onopen = function () {
      if (indicator) { indicator.classList.add("on"); indicator.title = "live"; }
      // A change between rendering this page and subscribing sent no event to us: re-read once connected.
      if (!pending) pending = setTimeout(refresh, 0);
    };
    source.onerror = function () { if (indicator) { indicator.classList.remove("on"); indicator.title = "reconnecting"; } };
    function onEvent(event) {
      const data = JSON.parse(event.data);
      const wanted = Array.from(live).some(function (el) { return !el.dataset.live || el.dataset.live === data.id; });
      if (wanted && !pending) pending = setTimeout(refresh, 150);
    }
    ["negotiation", "transfer", "usage"].forEach(function (kind) { source.addEventListener(kind, onEvent); });
  }
})();
