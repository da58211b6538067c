// 会议现场 (docs/meetings.md 实时名单): the meeting's websocket (/ws/meetings/<id>/) keeps the roster and the
// current 议题 up to date without reload; the room screen also rotates its 签到 QR code. No inline script, and
// every name is set as text (never as HTML).
(function () {
  "use strict";
  var root = document.querySelector("[data-meeting-live]");
  if (!root) return;
  var LABELS = { present: "已到", late: "迟到", absent: "未到", leave: "请假", delegated: "委派" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  // The roster arrives whole on connect and on resync ({"type": "roster", version}); after that each change is a
  // {"type": "roster.delta", version, rows, removed, counts}. A delta whose version is not the next one (a lost
  // message, a reconnect race) or that names someone not on the screen asks the server for the whole roster.
  var version = null;
  var resyncing = false;

  function rowNode(r) {
    var li = el("li", "mt-roster-row mt-st-" + r.status);
    li.setAttribute("data-person", String(r.person_id));
    li.appendChild(el("span", "mt-roster-name", r.name));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "mt-roster-status", r.label));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "row-meta", r.at));
    return li;
  }

  function showCounts(counts) {
    var node = document.querySelector("[data-roster-counts]");
    if (node) {
      node.textContent = ["present", "late", "absent", "leave", "delegated"].map(function (k) {
        return LABELS[k] + " " + counts[k];
      }).join(" · ");
    }
  }

  function showRoster(frame) {
    var list = document.querySelector("[data-roster]");
    if (list) {
      var items = frame.rows.map(rowNode);
      if (!items.length) items.push(el("li", "row-meta", "邀请名单为空"));
      list.replaceChildren.apply(list, items);
    }
    showCounts(frame.counts);
    version = frame.version;
    resyncing = false;
    root.setAttribute("data-roster-version", String(version));
  }

  function resync(ws) {
    if (resyncing) return;
    resyncing = true;
    ws.send(JSON.stringify({ type: "hello" }));
  }

  function applyDelta(frame, ws) {
    if (version === null || resyncing || frame.version <= version) return;  // the whole roster is on its way
    if (frame.version !== version + 1) { resync(ws); return; }
    var list = document.querySelector("[data-roster]");
    if (list) {
      for (var i = 0; i < frame.rows.length; i++) {
        var old = list.querySelector('[data-person="' + Number(frame.rows[i].person_id) + '"]');
        if (!old) { resync(ws); return; }  // someone new on the list: its place comes with the whole roster
        old.replaceWith(rowNode(frame.rows[i]));
      }
      frame.removed.forEach(function (pk) {
        var gone = list.querySelector('[data-person="' + Number(pk) + '"]');
        if (gone) gone.remove();
      });
    }
    showCounts(frame.counts);
    version = frame.version;
    root.setAttribute("data-roster-version", String(version));
  }

  function showAgenda(frame) {
    document.querySelectorAll("[data-current-item]").forEach(function (box) {
      var nodes = [];
      var c = frame.current;
      if (c) {
        var p = el("p", "mt-current-title");
        p.appendChild(el("strong", "", c.position + ". " + c.title));
        if (c.presenter) {
          p.appendChild(document.createTextNode(" "));
          p.appendChild(el("span", "row-meta", "汇报：" + c.presenter));
        }
        nodes.push(p);
        if (c.materials.length) {
          var ul = el("ul", "plain-list");
          c.materials.forEach(function (m) {
            var li = el("li");
            var a = el("a", "", m.name);
            a.href = m.url;
            li.appendChild(a);
            ul.appendChild(li);
          });
          nodes.push(ul);
        }
      } else {
        nodes.push(el("p", "row-meta", "会议尚未开始讨论议题。"));
      }
      box.replaceChildren.apply(box, nodes);
    });
  }

  var status = document.querySelector("[data-live-status]");
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + root.getAttribute("data-ws"));
    ws.onopen = function () { delay = 1000; if (status) status.textContent = "实时更新中"; };
    ws.onmessage = function (e) {
      var frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      if (frame.type === "roster") showRoster(frame);
      else if (frame.type === "roster.delta") applyDelta(frame, ws);
      else if (frame.type === "agenda") showAgenda(frame);
      root.setAttribute("data-live-frames", String(Number(root.getAttribute("data-live-frames") || 0) + 1));
    };
    ws.onclose = function (e) {
      version = null;
      resyncing = false;
      if (e.code === 4401 || e.code === 4403 || e.code === 4404) {
        if (status) status.textContent = "实时更新已停止（请重新登录后刷新页面）";
        return;
      }
      if (status) status.textContent = "连接中断，正在重连…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();

  var qrPath = root.getAttribute("data-qr");
  var img = document.querySelector("[data-qr-image]");
  var qrStatus = document.querySelector("[data-qr-status]");
  function refreshQr() {
    fetch(qrPath, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (data) {
      img.src = data.qr;
      img.setAttribute("data-checkin-url", data.url);
      if (qrStatus) qrStatus.textContent = "签到码每 " + data.step + " 秒更换";
      setTimeout(refreshQr, Math.max(1, data.refresh_in) * 1000);
    }).catch(function () {
      if (qrStatus) qrStatus.textContent = "签到码获取失败，5 秒后重试";
      setTimeout(refreshQr, 5000);
    });
  }
  if (qrPath && img) refreshQr();
})();
