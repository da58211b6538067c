/* 正文 block editor (docs/editor.md). Plain JavaScript, no plugin, no framework; loaded with defer (CSP script-src 'self').

   The body is a list of blocks: paragraphs {type:"p", level:0–4, text} and tables {type:"table", rows, header}.
   Every save is a PUT of the whole body with If-Match: <the state it was edited from: "5", or "5.3" after three
   in-session autosaves> and X-Edit-Session: <this page load's random id>; the server answers with the saved
   version (200) or 409 naming whoever saved in between — then autosave stops until the page is reloaded, so
   nobody's work is overwritten silently. All the autosaves of one page load (one 编辑会话) amend one version;
   reloading the page, a pause of 30 minutes or someone else's save starts the next (docs/editor.md). */
(function () {
  "use strict";

  var DEBOUNCE_MS = 2000;
  var RETRY_MS = 5000;
  var LEVELS = [
    [0, "正文"], [1, "一级标题（一、）"], [2, "二级标题（（一））"], [3, "三级标题（1.）"], [4, "四级标题（（1））"]
  ];
  var CN = "零一二三四五六七八九";

  var root = document.getElementById("editor");
  if (!root || !window.fetch) { return; }

  var url = root.getAttribute("data-body-url");
  var csrf = root.getAttribute("data-csrf");
  var detailUrl = root.getAttribute("data-detail-url");
  var statusEl = document.getElementById("editor-status");
  var alertEl = document.getElementById("editor-alert");
  var blocksEl = document.getElementById("editor-blocks");

  // One editing session per page load: the server folds this session's autosaves into one version.
  function newSession() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var state = {
    version: parseInt(root.getAttribute("data-version") || "0", 10),
    etag: root.getAttribute("data-version") || "0",   // If-Match: "5" or "5.3"
    session: newSession(),
    blocks: [],
    dirty: false,      // local changes not yet sent
    saving: false,     // a PUT is in flight
    stopped: false,    // conflict or refusal: no more autosave until reload
    timer: null,
    leaving: false
  };

  // ---- ordinals, exactly as the renderer numbers them (documents/rendering/spec.py) ----------------------------
  function cnOrdinal(n) {
    if (n < 10) { return CN[n]; }
    var tens = Math.floor(n / 10), ones = n % 10;
    return (tens === 1 ? "" : CN[tens]) + "十" + (ones ? CN[ones] : "");
  }
  function prefix(level, n) {
    if (level === 1) { return cnOrdinal(n) + "、"; }
    if (level === 2) { return "（" + cnOrdinal(n) + "）"; }
    if (level === 3) { return n + "."; }
    if (level === 4) { return "（" + n + "）"; }
    return "";
  }
  function prefixes() {
    var counters = [0, 0, 0, 0, 0];
    return state.blocks.map(function (b) {
      if (b.type !== "p" || !b.level || !b.text.trim()) { return ""; }
      counters[b.level] += 1;
      for (var d = b.level + 1; d < 5; d++) { counters[d] = 0; }
      return prefix(b.level, counters[b.level]);
    });
  }

  // ---- small DOM helpers -------------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function button(act, label, ariaLabel) {
    var b = el("button", { type: "button", "class": "btn btn-quiet btn-small", "data-act": act }, label);
    if (ariaLabel) { b.setAttribute("aria-label", ariaLabel); }
    return b;
  }
  function levelName(level) { return LEVELS[level][1]; }
  function blockLabel(i) {
    var b = state.blocks[i];
    return "第" + (i + 1) + "块（" + (b.type === "table" ? "表格" : levelName(b.level)) + "）";
  }
  function autosize(area) {
    area.style.height = "auto";
    area.style.height = area.scrollHeight + 2 + "px";
  }

  // ---- rendering ---------------------------------------------------------------------------------------------
  function renderParagraph(b, i) {
    var wrap = el("div", { "class": "ed-block ed-p ed-l" + b.level, "data-index": String(i), role: "group",
                           "aria-label": blockLabel(i) });
    var tools = el("div", { "class": "ed-tools" });
    var label = el("label", { "class": "ed-level" });
    label.appendChild(el("span", { "class": "visually-hidden" }, "第" + (i + 1) + "块的层次"));
    var select = el("select", { "data-field": "level" });
    LEVELS.forEach(function (pair) {
      var opt = el("option", { value: String(pair[0]) }, pair[1]);
      if (pair[0] === b.level) { opt.selected = true; }
      select.appendChild(opt);
    });
    label.appendChild(select);
    tools.appendChild(label);
    tools.appendChild(button("up", "上移", "第" + (i + 1) + "块上移"));
    tools.appendChild(button("down", "下移", "第" + (i + 1) + "块下移"));
    tools.appendChild(button("remove", "删除", "删除第" + (i + 1) + "块"));
    wrap.appendChild(tools);

    var line = el("div", { "class": "ed-line" });
    line.appendChild(el("span", { "class": "ed-ordinal", "aria-hidden": "true" }, ""));
    var area = el("textarea", { "class": "ed-text", rows: "1", "data-field": "text", "aria-label": blockLabel(i) + "文字",
                                spellcheck: "false" });
    area.value = b.text;
    line.appendChild(area);
    wrap.appendChild(line);
    return wrap;
  }

  function renderTable(b, i) {
    var wrap = el("div", { "class": "ed-block ed-table-block", "data-index": String(i), role: "group",
                           "aria-label": blockLabel(i) });
    var tools = el("div", { "class": "ed-tools" });
    tools.appendChild(el("span", { "class": "ed-kind" }, "表格"));
    var headLabel = el("label", { "class": "ed-check" });
    var head = el("input", { type: "checkbox", "data-field": "header" });
    head.checked = !!b.header;
    headLabel.appendChild(head);
    headLabel.appendChild(document.createTextNode("首行为表头"));
    tools.appendChild(headLabel);
    tools.appendChild(button("add-row", "加一行"));
    tools.appendChild(button("add-col", "加一列"));
    tools.appendChild(button("del-row", "删末行"));
    tools.appendChild(button("del-col", "删末列"));
    tools.appendChild(button("up", "上移", "第" + (i + 1) + "块（表格）上移"));
    tools.appendChild(button("down", "下移", "第" + (i + 1) + "块（表格）下移"));
    tools.appendChild(button("remove", "删除", "删除第" + (i + 1) + "块（表格）"));
    wrap.appendChild(tools);

    var scroller = el("div", { "class": "table-wrap" });
    var table = el("table", { "class": "ed-table" });
    b.rows.forEach(function (row, r) {
      var tr = el("tr");
      row.forEach(function (cell, c) {
        var td = el(r === 0 && b.header ? "th" : "td");
        var input = el("input", { type: "text", "data-row": String(r), "data-col": String(c),
                                  "aria-label": "第" + (i + 1) + "块表格 第" + (r + 1) + "行第" + (c + 1) + "列" });
        input.value = cell;
        td.appendChild(input);
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    scroller.appendChild(table);
    wrap.appendChild(scroller);
    return wrap;
  }

  function render(focus) {
    blocksEl.textContent = "";
    state.blocks.forEach(function (b, i) {
      blocksEl.appendChild(b.type === "table" ? renderTable(b, i) : renderParagraph(b, i));
    });
    blocksEl.querySelectorAll("textarea").forEach(autosize);
    updateOrdinals();
    setReadOnly(state.stopped);
    if (focus) { focusAt(focus.index, focus.caret, focus.act); }
  }

  function updateOrdinals() {
    var list = prefixes();
    blocksEl.querySelectorAll(".ed-block").forEach(function (node) {
      var i = parseInt(node.getAttribute("data-index"), 10);
      var mark = node.querySelector(".ed-ordinal");
      if (mark) { mark.textContent = list[i] || ""; }
    });
  }

  function focusAt(index, caret, act) {
    var node = blocksEl.querySelector('.ed-block[data-index="' + index + '"]');
    if (!node) { return; }
    var target = act ? node.querySelector('[data-act="' + act + '"]') : null;
    if (!target || target.disabled) { target = node.querySelector("textarea, input[type=text]"); }
    if (!target) { return; }
    target.focus();
    if (caret !== undefined && target.setSelectionRange) {
      var at = caret === "end" ? target.value.length : caret;
      target.setSelectionRange(at, at);
    }
  }

  function setReadOnly(on) {
    root.classList.toggle("editor-stopped", on);
    blocksEl.querySelectorAll("textarea, input[type=text]").forEach(function (n) { n.readOnly = on; });
    root.querySelectorAll("select, input[type=checkbox], button[data-act], .editor-add button").forEach(function (n) {
      n.disabled = on;
    });
  }

  // ---- status and alerts -------------------------------------------------------------------------------------
  function setStatus(kind, text) {
    statusEl.setAttribute("data-state", kind);
    statusEl.textContent = text;
  }
  function clearAlert() { alertEl.textContent = ""; }
  function showAlert(message, extra) {
    alertEl.textContent = "";
    var box = el("div", { "class": "notice notice-error" });
    box.appendChild(el("span", { "class": "notice-mark", "aria-hidden": "true" }, "!"));
    box.appendChild(el("span", { "class": "editor-alert-text" }, message));
    if (extra) { box.appendChild(extra); }
    alertEl.appendChild(box);
  }
  function timeOf(version) { return version && version.time ? version.time : ""; }

  // ---- saving ------------------------------------------------------------------------------------------------
  function markDirty() {
    if (state.stopped) { return; }
    state.dirty = true;
    setStatus("dirty", "有未保存的修改");
    schedule(DEBOUNCE_MS);
  }
  function schedule(ms) {
    if (state.timer) { clearTimeout(state.timer); }
    state.timer = setTimeout(save, ms);
  }
  function syncVersionInputs() {
    root.setAttribute("data-version", state.etag);
    document.querySelectorAll("[data-editor-version]").forEach(function (input) { input.value = state.etag; });
  }

  function save() {
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    if (state.stopped || !state.dirty) { return; }
    if (state.saving) { return; }  // the response handler saves again if more changes came in
    state.saving = true;
    state.dirty = false;
    setStatus("saving", "正在保存…");
    fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "If-Match": '"' + state.etag + '"',
        "X-Edit-Session": state.session,
        "X-CSRFToken": csrf
      },
      body: JSON.stringify({ blocks: state.blocks })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) { return { resp: resp, data: data }; });
    }).then(function (r) {
      state.saving = false;
      var status = r.resp.status;
      if (r.resp.ok) {
        state.version = r.data.version.number;
        state.etag = r.data.version.etag || String(state.version);
        syncVersionInputs();
        clearAlert();
        applyNormalised(r.data.content);
        if (state.dirty) {
          setStatus("dirty", "有未保存的修改");
          schedule(DEBOUNCE_MS);
        } else {
          setStatus("saved", "已保存 第" + state.version + "版 " + timeOf(r.data.version));
        }
      } else if (status === 409) {
        conflict(r.data);
      } else if (status === 400) {
        // The content itself is refused (e.g. a heading typed with its own "一、"): say why, wait for a fix.
        state.dirty = true;
        setStatus("error", "未保存：请按提示修改");
        showAlert(r.data.message || "正文内容有误，未能保存");
      } else if (status >= 500 || status === 429) {
        state.dirty = true;
        setStatus("error", "保存失败，稍后自动重试");
        schedule(RETRY_MS);
      } else {
        stop(r.data.message || "无法保存（" + status + "），请刷新页面后重试");
      }
    }).catch(function () {
      state.saving = false;
      state.dirty = true;
      setStatus("offline", "网络中断，未保存；恢复后自动重试");
      schedule(RETRY_MS);
    });
  }

  // The server normalises (trims blanks, drops an ordinal typed at the start of a heading): take its text for
  // blocks not being typed in, so what is on screen is what was stored.
  function applyNormalised(content) {
    if (state.dirty || !content || !content.blocks || content.blocks.length !== state.blocks.length) { return; }
    var active = document.activeElement;
    content.blocks.forEach(function (nb, i) {
      var b = state.blocks[i];
      if (nb.type !== "p" || b.type !== "p" || nb.text === b.text) { return; }
      var node = blocksEl.querySelector('.ed-block[data-index="' + i + '"] textarea');
      if (node && node === active) { return; }
      b.text = nb.text;
      if (node) { node.value = nb.text; autosize(node); }
    });
    updateOrdinals();
  }

  function stop(message, extra) {
    state.stopped = true;
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    setStatus("stopped", "已停止自动保存");
    showAlert(message, extra);
    setReadOnly(true);
  }

  function plainText() {
    return state.blocks.map(function (b) {
      return b.type === "table" ? b.rows.map(function (r) { return r.join("\t"); }).join("\n") : b.text;
    }).join("\n");
  }

  function conflict(data) {
    var mine = state.version;
    var extra = el("div", { "class": "editor-conflict" });
    extra.appendChild(el("p", {}, "为避免覆盖他人的修改，本页已停止自动保存，您在本页的改动尚未保存。"));
    var actions = el("p", { "class": "form-actions" });
    if (data.current) {
      var link = el("a", { href: detailUrl + "?from=" + mine + "&to=" + data.current.number + "#diff", target: "_blank",
                           rel: "noopener", "class": "btn btn-secondary btn-small" }, "查看对方的修改（新窗口）");
      actions.appendChild(link);
    }
    var reload = el("button", { type: "button", "class": "btn btn-primary btn-small", "data-reload": "1" },
                    "载入最新版本（放弃本页改动）");
    actions.appendChild(reload);
    extra.appendChild(actions);
    var keep = el("details", { "class": "editor-keep" });
    keep.appendChild(el("summary", {}, "我在本页的文字（可复制后在最新版本中重新修改）"));
    var area = el("textarea", { readonly: "readonly", rows: "6", "aria-label": "我在本页未保存的文字" });
    area.value = plainText();
    keep.appendChild(area);
    extra.appendChild(keep);
    stop(data.message || "正文已被他人修改，请先查看其修改", extra);
  }

  alertEl.addEventListener("click", function (event) {
    if (event.target.closest("[data-reload]")) {
      state.leaving = true;
      window.location.reload();
    }
  });

  // ---- editing -----------------------------------------------------------------------------------------------
  function indexOf(node) {
    var block = node.closest(".ed-block");
    return block ? parseInt(block.getAttribute("data-index"), 10) : -1;
  }

  function insertParagraphs(index, texts, level) {
    var fresh = texts.map(function (t, k) { return { type: "p", level: k === 0 ? level : 0, text: t }; });
    Array.prototype.splice.apply(state.blocks, [index, 0].concat(fresh));
  }

  // While an input method is composing (拼音 not yet turned into 汉字) the field holds Latin letters: wait for
  // compositionend instead of saving them.
  blocksEl.addEventListener("input", function (event) {
    if (!event.isComposing) { edited(event.target); }
  });
  blocksEl.addEventListener("compositionend", function (event) { edited(event.target); });

  function edited(t) {
    var i = indexOf(t);
    if (i < 0 || state.stopped) { return; }
    var b = state.blocks[i];
    if (t.getAttribute("data-field") === "text") {
      b.text = t.value;
      autosize(t);
      updateOrdinals();
    } else if (t.hasAttribute("data-row")) {
      b.rows[parseInt(t.getAttribute("data-row"), 10)][parseInt(t.getAttribute("data-col"), 10)] = t.value;
    } else {
      return;
    }
    markDirty();
  }

  blocksEl.addEventListener("change", function (event) {
    var t = event.target, i = indexOf(t);
    if (i < 0 || state.stopped) { return; }
    var b = state.blocks[i];
    if (t.getAttribute("data-field") === "level") {
      b.level = parseInt(t.value, 10);
      var node = t.closest(".ed-block");
      node.className = "ed-block ed-p ed-l" + b.level;
      node.setAttribute("aria-label", blockLabel(i));
      node.querySelector("textarea").setAttribute("aria-label", blockLabel(i) + "文字");
      updateOrdinals();
    } else if (t.getAttribute("data-field") === "header") {
      b.header = t.checked;
      render({ index: i, act: null });
      blocksEl.querySelector('.ed-block[data-index="' + i + '"] input[type=checkbox]').focus();
    } else {
      return;
    }
    markDirty();
  });

  blocksEl.addEventListener("click", function (event) {
    var btn = event.target.closest("button[data-act]");
    if (!btn || state.stopped) { return; }
    var i = indexOf(btn), b = state.blocks[i], act = btn.getAttribute("data-act"), cols;
    if (act === "up" && i > 0) {
      state.blocks.splice(i - 1, 0, state.blocks.splice(i, 1)[0]);
      render({ index: i - 1, act: "up" });
    } else if (act === "down" && i < state.blocks.length - 1) {
      state.blocks.splice(i + 1, 0, state.blocks.splice(i, 1)[0]);
      render({ index: i + 1, act: "down" });
    } else if (act === "remove") {
      state.blocks.splice(i, 1);
      if (!state.blocks.length) { state.blocks.push({ type: "p", level: 0, text: "" }); }
      render({ index: Math.max(0, i - 1), caret: "end" });
    } else if (act === "add-row") {
      cols = b.rows[0].length;
      b.rows.push(new Array(cols).fill(""));
      render({ index: i, act: act });
    } else if (act === "add-col") {
      b.rows.forEach(function (r) { r.push(""); });
      render({ index: i, act: act });
    } else if (act === "del-row" && b.rows.length > 1) {
      b.rows.pop();
      render({ index: i, act: act });
    } else if (act === "del-col" && b.rows[0].length > 1) {
      b.rows.forEach(function (r) { r.pop(); });
      render({ index: i, act: act });
    } else {
      return;
    }
    markDirty();
  });

  blocksEl.addEventListener("keydown", function (event) {
    var t = event.target;
    if (t.getAttribute("data-field") !== "text" || state.stopped || event.isComposing || event.keyCode === 229) { return; }
    var i = indexOf(t), b = state.blocks[i];
    if (event.key === "Enter") {
      // One 自然段 per block: Enter splits the paragraph at the caret.
      event.preventDefault();
      var before = t.value.slice(0, t.selectionStart), after = t.value.slice(t.selectionEnd);
      b.text = before;
      insertParagraphs(i + 1, [after], 0);
      render({ index: i + 1, caret: 0 });
      markDirty();
    } else if (event.key === "Backspace" && t.selectionStart === 0 && t.selectionEnd === 0 && i > 0 &&
               state.blocks[i - 1].type === "p") {
      // At the start of a paragraph, Backspace joins it to the previous one.
      event.preventDefault();
      var prev = state.blocks[i - 1], join = prev.text.length;
      prev.text += b.text;
      state.blocks.splice(i, 1);
      render({ index: i - 1, caret: join });
      markDirty();
    }
  });

  blocksEl.addEventListener("paste", function (event) {
    var t = event.target;
    if (t.getAttribute("data-field") !== "text" || state.stopped || !event.clipboardData) { return; }
    var text = event.clipboardData.getData("text/plain");
    if (!/[\r\n\t]/.test(text)) { return; }
    // Pasted lines become paragraphs (a block holds no line breaks).
    event.preventDefault();
    var i = indexOf(t), b = state.blocks[i];
    var lines = text.replace(/\t/g, " ").split(/\r\n|\r|\n/);
    var before = t.value.slice(0, t.selectionStart), after = t.value.slice(t.selectionEnd);
    var last = lines.length - 1;
    b.text = before + lines[0];
    var rest = lines.slice(1);
    if (!rest.length) {
      b.text += after;
      render({ index: i, caret: before.length + lines[0].length });
    } else {
      var caret = rest[rest.length - 1].length;
      rest[rest.length - 1] += after;
      insertParagraphs(i + 1, rest, 0);
      render({ index: i + last, caret: caret });
    }
    markDirty();
  });

  // Leaving a field saves at once (no need to wait for the debounce).
  root.addEventListener("focusout", function () {
    if (state.dirty && !state.saving) { save(); }
  });

  window.addEventListener("beforeunload", function (event) {
    if (!state.leaving && (state.dirty || state.saving)) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function addBlock(block) {
    if (state.stopped) { return; }
    state.blocks.push(block);
    render({ index: state.blocks.length - 1, caret: 0 });
    markDirty();
  }

  function buildToolbar() {
    var bar = el("div", { "class": "editor-add", role: "group", "aria-label": "添加内容" });
    var addP = el("button", { type: "button", "class": "btn btn-secondary btn-small" }, "＋ 段落");
    var addT = el("button", { type: "button", "class": "btn btn-secondary btn-small" }, "＋ 表格");
    addP.addEventListener("click", function () { addBlock({ type: "p", level: 0, text: "" }); });
    addT.addEventListener("click", function () {
      addBlock({ type: "table", header: true, rows: [["", ""], ["", ""]] });
    });
    bar.appendChild(addP);
    bar.appendChild(addT);
    blocksEl.parentNode.insertBefore(bar, blocksEl.nextSibling);
  }

  // ---- start: load the current body (ETag = version) ---------------------------------------------------------
  fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (resp) {
      if (!resp.ok) { throw new Error(String(resp.status)); }
      return resp.json();
    })
    .then(function (data) {
      if (!data.can_edit) { return; }  // the server-rendered read-only body stays
      state.version = data.version ? data.version.number : 0;
      state.etag = data.version ? (data.version.etag || String(data.version.number)) : "0";
      state.blocks = (data.content && data.content.blocks) || [];
      if (!state.blocks.length) { state.blocks.push({ type: "p", level: 0, text: "" }); }
      syncVersionInputs();
      root.classList.add("editor-ready");
      buildToolbar();
      render();
      setStatus("saved", data.version ? "第" + data.version.number + "版 " + timeOf(data.version) : "尚未保存");
    })
    .catch(function () {
      showAlert("无法载入正文编辑器，请刷新页面重试。");
    });
})();
