/* Live events for signed-in pages: one websocket to /ws/events/ (protocol in docs/events.md).
   - sends hello with the last event id this browser has seen (localStorage, per user), receives what it missed,
     then live events; every event is handled once (ids only go up), however often the socket reconnects;
   - keeps every [data-count-box="todo|toread|initiated"] and the unread badge current, without a reload;
   - shows a polite toast with a link for each new event;
   - reconnects with exponential backoff (1 s … 60 s, with jitter), at once when the network comes back;
   - acknowledges delivery cumulatively: the highest event id received on this socket, at most once every
     ACK_MS and when the page is hidden or left (the server records acknowledgements in batches);
   - shows broadcast notices (通知公告 to the agency or the district) as toasts and as an "oa:broadcast" event.
   Loaded with defer; no inline script (CSP script-src 'self'). */
(function () {
  "use strict";

  var body = document.body;
  var userId = body && body.dataset.user;
  if (!userId || !("WebSocket" in window)) { return; }

  var STORE_KEY = "oa.events.last." + userId;
  var MAX_TOASTS = 4;
  var TOAST_MS = 12000;
  var socket = null;
  var retry = 0;
  var retryTimer = null;
  var stopped = false;
  var lastSeen = readLast();  // highest event id handled by this page (or any tab of this user)
  var ACK_MS = 3000;
  var received = 0;  // highest event id received on the current socket (acknowledged to the server)
  var acked = 0;
  var ackTimer = null;

  function readLast() {
    try {
      var value = window.localStorage.getItem(STORE_KEY);
      var n = value === null ? NaN : parseInt(value, 10);
      return isNaN(n) ? null : n;
    } catch (e) {
      return null;  // storage disabled (private mode): start from "now" on every page
    }
  }

  function remember(id) {
    if (lastSeen === null || id > lastSeen) { lastSeen = id; }
    try {
      var stored = readLast();
      if (stored === null || lastSeen > stored) { window.localStorage.setItem(STORE_KEY, String(lastSeen)); }
    } catch (e) { /* storage disabled: the in-memory value still dedupes this page */ }
  }

  function setState(state) { body.dataset.eventsState = state; }

  // ---- counts -------------------------------------------------------------------------------------------
  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  function applyCounts(counts, unread) {
    if (counts) {
      Object.keys(counts).forEach(function (box) {
        var n = counts[box];
        each('[data-count-box="' + box + '"]', function (el) {
          if (el.textContent !== String(n)) {
            el.textContent = String(n);
            el.classList.remove("count-bump");
            void el.offsetWidth;  // restart the highlight animation
            el.classList.add("count-bump");
          }
          // Badges disappear at zero; counters marked data-count-keep (tabs, tiles) keep showing "0".
          if (!el.hasAttribute("data-count-keep")) { el.hidden = n === 0; }
        });
        each('[data-count-label="' + box + '"]', function (el) { el.textContent = "（" + n + " 项）"; });
        // A list of this box on the page is now stale: offer a refresh (never reload under the user's hands).
        each('[data-refresh-box="' + box + '"]', function (el) {
          if (el.dataset.count === undefined) { el.dataset.count = String(n); }
          if (el.dataset.count !== String(n)) { el.hidden = false; }
        });
      });
    }
    if (typeof unread === "number") {
      each("[data-unread-count]", function (el) { el.textContent = String(unread); el.hidden = unread === 0; });
      each("[data-unread-label]", function (el) { el.textContent = "未读消息 " + unread + " 条"; });
    }
  }

  // ---- toasts -------------------------------------------------------------------------------------------
  var LABELS = {
    "work.assigned": "新待办",
    "work.urged": "催办",
    "work.returned": "退回",
    "work.completed": "已办结",
    "work.retired": "已撤回",
    "announcement.published": "通知公告",
    "announcement.withdrawn": "公告撤回"
  };

  function toast(message) {
    var box = document.getElementById("live-toasts");
    if (!box) { return; }
    var item = document.createElement("div");
    item.className = "live-toast";
    if (typeof message.id === "number") { item.dataset.eventId = String(message.id); }

    var kind = document.createElement("span");
    kind.className = "badge badge-primary live-toast-kind";
    kind.textContent = LABELS[message.event_type] || "新消息";
    item.appendChild(kind);

    var text = document.createElement("p");
    text.className = "live-toast-text";
    var title = document.createElement(message.link ? "a" : "span");
    title.className = "live-toast-title";
    title.textContent = message.title || "新消息";
    if (message.link && message.link.charAt(0) === "/" && message.link.charAt(1) !== "/") {
      title.href = message.link;  // same-site paths only
    }
    text.appendChild(title);
    if (message.summary) {
      var summary = document.createElement("span");
      summary.className = "live-toast-summary";
      summary.textContent = message.summary;
      text.appendChild(summary);
    }
    item.appendChild(text);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "live-toast-close";
    close.setAttribute("aria-label", "关闭提醒：" + (message.title || "新消息"));
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);

    box.appendChild(item);
    while (box.children.length > MAX_TOASTS) { box.removeChild(box.firstElementChild); }

    // Dismiss after a while, but never while the pointer or keyboard focus is on it.
    var timer = null;
    function arm() { timer = window.setTimeout(function () { item.remove(); }, TOAST_MS); }
    function disarm() { window.clearTimeout(timer); }
    item.addEventListener("mouseenter", disarm);
    item.addEventListener("focusin", disarm);
    item.addEventListener("mouseleave", arm);
    item.addEventListener("focusout", arm);
    arm();
  }

  // ---- socket -------------------------------------------------------------------------------------------
  function url() {
    var path = body.dataset.eventsUrl || "/ws/events/";
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + path;
  }

  // Only ids this socket received are acknowledged (the server refuses others with "ack_unknown").
  function ack() {
    window.clearTimeout(ackTimer);
    ackTimer = null;
    if (received > acked && socket && socket.readyState === 1) {
      socket.send(JSON.stringify({ type: "ack", last_event_id: received }));
      acked = received;
    }
  }

  function scheduleAck() {
    if (ackTimer === null) { ackTimer = window.setTimeout(ack, ACK_MS); }
  }

  function onMessage(raw) {
    var message;
    try { message = JSON.parse(raw.data); } catch (e) { return; }
    if (message.type === "event") {
      if (typeof message.id !== "number") { return; }
      if (message.id > received) { received = message.id; scheduleAck(); }
      if (lastSeen !== null && message.id <= lastSeen) {
        return;  // already handled (backlog overlap, another tab, a replay after reconnect)
      }
      remember(message.id);
      applyCounts(message.counts, message.unread);
      toast(message);
      document.dispatchEvent(new CustomEvent("oa:event", { detail: message }));
    } else if (message.type === "synced") {
      if (typeof message.last_event_id === "number") { remember(message.last_event_id); }
      applyCounts(message.counts, message.unread);
      retry = 0;
      setState("synced");
    } else if (message.type === "counts") {
      applyCounts(message.counts, message.unread);
    } else if (message.type === "broadcast") {
      toast(message);
      document.dispatchEvent(new CustomEvent("oa:broadcast", { detail: message }));
    }
  }

  function connect() {
    if (stopped || (socket && socket.readyState <= 1)) { return; }
    window.clearTimeout(retryTimer);
    setState("connecting");
    received = 0;
    acked = 0;
    window.clearTimeout(ackTimer);
    ackTimer = null;
    try {
      socket = new WebSocket(url());
    } catch (e) {
      schedule();
      return;
    }
    socket.addEventListener("open", function () {
      setState("open");
      // Another tab may have moved the mark on; start from the furthest point any tab has handled.
      var stored = readLast();
      if (stored !== null && (lastSeen === null || stored > lastSeen)) { lastSeen = stored; }
      socket.send(JSON.stringify({ type: "hello", last_event_id: lastSeen }));
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === 4401 || event.code === 4403) {
        // Signed out or not allowed: retrying would not help; the next page load decides.
        stopped = true;
        setState("closed");
        return;
      }
      schedule();
    });
  }

  function schedule() {
    if (stopped) { return; }
    setState("waiting");
    var delay = Math.min(60000, 1000 * Math.pow(2, retry)) * (0.75 + Math.random() * 0.5);
    retry = Math.min(retry + 1, 10);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, delay);
  }

  window.addEventListener("online", function () { retry = 0; connect(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { connect(); } else { ack(); }
  });
  window.addEventListener("pagehide", function () {
    ack();
    stopped = true;
    if (socket) { socket.close(1000); }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { stopped = false; retry = 0; connect(); }  // back from the back-forward cache
  });

  // Public for other scripts on the page (e.g. mark everything read from a notification list).
  window.oaEvents = {
    markRead: function (ids) {
      if (socket && socket.readyState === 1) {
        socket.send(JSON.stringify(ids ? { type: "read", ids: ids } : { type: "read", all: true }));
      }
    }
  };

  connect();
})();
