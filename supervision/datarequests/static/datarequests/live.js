// 报表“一张表” requester page (docs/datarequests.md 进度): reload the progress card when a datarequest.progress event
// for this request arrives through /ws/events/ (events.js dispatches "oa:event"); while the events socket is not
// connected, poll every 30 s instead. The card is server-rendered HTML of this site (escaped there); no inline script.
(function () {
  "use strict";
  var box = document.querySelector("[data-dr-progress]");
  if (!box) return;
  var url = box.getAttribute("data-dr-progress");
  var requestId = Number(box.getAttribute("data-dr-request"));
  var busy = false;

  function reload() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-dr-card]");
        var old = box.querySelector("[data-dr-card]");
        if (fresh && old) {
          old.replaceWith(document.importNode(fresh, true));
          box.setAttribute("data-dr-reloads", String(Number(box.getAttribute("data-dr-reloads") || 0) + 1));
        }
      })
      .catch(function () { /* the next event or poll tries again */ })
      .then(function () { busy = false; });
  }

  document.addEventListener("oa:event", function (e) {
    var m = e.detail || {};
    if (m.event_type === "datarequest.progress" && m.payload && Number(m.payload.request_id) === requestId) {
      reload();
    }
  });
  window.setInterval(function () {
    if (document.body.dataset.eventsState !== "synced" && !document.hidden) reload();
  }, 30000);
})();
