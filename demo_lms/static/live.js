// Keeps a page of the demo LMS current: polls the JSON answer named by <body data-live-url> and
// applies it. `text` sets the text of [data-live=key]; `show` shows or hides [data-live=key];
// `links` points [data-live=key] at a URL; `events` lists the events received, newest first.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live-url");
  if (!url) { return; }
  var EVERY_MS = 1000;

  function each(key, apply) {
    document.querySelectorAll('[data-live="' + CSS.escape(key) + '"]').forEach(apply);
  }

  function showEvents(events) {
    var list = document.getElementById("events-received");
    if (!list || !events) { return; }
    list.replaceChildren();
    if (events.length === 0) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "none yet";
      list.appendChild(none);
    }
    events.forEach(function (event) {
      var item = document.createElement("li");
      var type = document.createElement("code");
      type.textContent = event.type;
      item.appendChild(document.createTextNode(event.at + " "));
      item.appendChild(type);
      item.appendChild(document.createTextNode(" " + event.summary));
      item.setAttribute("data-event-type", event.type);
      list.appendChild(item);
    });
  }

  function apply(now) {
    Object.entries(now.text || {}).forEach(function ([key, value]) {
      each(key, function (element) { element.textContent = value; });
    });
    Object.entries(now.show || {}).forEach(function ([key, visible]) {
      each(key, function (element) { element.hidden = !visible; });
    });
    Object.entries(now.links || {}).forEach(function ([key, href]) {
      each(key, function (element) { element.setAttribute("href", href); });
    });
    showEvents(now.events);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (now) { if (now) { apply(now); } })
      .catch(function () { /* the demo LMS is restarting: try again on the next tick */ })
      .finally(function () { setTimeout(poll, EVERY_MS); });
  }

  poll();
})();
