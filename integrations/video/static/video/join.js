/* Join a Janus VideoRoom from the meeting page (integrations/video, docs/video.md).
 * Reads the JoinInfo JSON the server put in the page (json_script, never executed), so no inline script is
 * needed (CSP script-src 'self'). Publishes the camera and microphone, subscribes to everyone else. */
(function () {
  "use strict";

  var root = document.querySelector("[data-video-join]");
  if (!root) { return; }
  var statusEl = root.querySelector("[data-video-status]");
  var localVideo = root.querySelector("[data-video-local]");
  var remotes = root.querySelector("[data-video-remotes]");
  var retryButton = root.querySelector("[data-video-retry]");
  var leaveButton = root.querySelector("[data-video-leave]");
  var cfg = JSON.parse(document.getElementById(root.getAttribute("data-config")).textContent);
  var janus = null;
  var feeds = {};

  var REFUSALS = {
    426: "视频会议室已不存在（会议可能已结束）。",
    433: "无权进入该视频会议室：链接已失效，或您已被主持人移出。"
  };

  function setStatus(text, state) {
    statusEl.textContent = text;
    root.setAttribute("data-state", state);
    retryButton.hidden = state !== "error";
    leaveButton.hidden = state !== "joined";
  }

  // Tell our server this browser is in the room; it checks the room's own participant list before it records
  // anything, so this is a prompt, not a proof. Failure is harmless: the periodic job reads the list too.
  function reportJoined() {
    var form = root.querySelector("[data-video-joined]");
    if (!form || !window.fetch) { return; }
    window.fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .catch(function () { return null; });
  }

  function unavailable() {
    setStatus("视频会议服务暂不可用，请稍后点击“重试”。", "error");
  }

  function refused(message) {
    setStatus(REFUSALS[message.error_code] || "进入视频会议失败，请稍后重试。", "error");
  }

  function joinBody(ptype) {
    var body = { request: "join", ptype: ptype, room: Number(cfg.room), pin: cfg.pin, token: cfg.token };
    if (ptype === "publisher") {
      body.id = cfg.feedId;
      body.display = cfg.display;
    }
    return body;
  }

  function subscribe(publisher) {
    if (feeds[publisher.id] || publisher.id === cfg.feedId) { return; }
    var figure = document.createElement("figure");
    var video = document.createElement("video");
    var caption = document.createElement("figcaption");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("aria-label", publisher.display + " 的画面");
    caption.textContent = publisher.display;  // textContent: a display name is never parsed as HTML
    figure.appendChild(video);
    figure.appendChild(caption);
    remotes.appendChild(figure);
    feeds[publisher.id] = { figure: figure, handle: null };
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        feeds[publisher.id].handle = handle;
        var body = joinBody("subscriber");
        body.streams = [{ feed: publisher.id }];
        handle.send({ message: body });
      },
      error: unavailable,
      onmessage: function (msg, jsep) {
        var handle = feeds[publisher.id] && feeds[publisher.id].handle;
        if (!handle || !jsep) { return; }
        handle.createAnswer({
          jsep: jsep,
          tracks: [{ type: "data" }],
          success: function (answer) {
            handle.send({ message: { request: "start", room: Number(cfg.room) }, jsep: answer });
          },
          error: unavailable
        });
      },
      onremotetrack: function (track, mid, on) {
        if (on && track.kind === "video") { Janus.attachMediaStream(video, new MediaStream([track])); }
      }
    });
  }

  function unsubscribe(id) {
    var feed = feeds[id];
    if (!feed) { return; }
    if (feed.handle) { feed.handle.detach(); }
    feed.figure.remove();
    delete feeds[id];
  }

  function publish(handle) {
    handle.createOffer({
      tracks: [{ type: "audio", capture: true, recv: false }, { type: "video", capture: true, recv: false }],
      success: function (jsep) {
        handle.send({ message: { request: "configure", audio: true, video: true }, jsep: jsep });
      },
      error: function () {
        setStatus("已进入会议室，但无法打开摄像头或麦克风（请检查浏览器权限）。", "joined");
      }
    });
  }

  function onPublisherMessage(handle, msg, jsep) {
    var kind = msg.videoroom;
    if (msg.error_code) {
      refused(msg);
    } else if (kind === "joined") {
      setStatus("已进入会议室：" + (msg.description || ""), "joined");
      reportJoined();
      publish(handle);
      (msg.publishers || []).forEach(subscribe);
    } else if (kind === "destroyed") {
      setStatus("会议已结束。", "ended");
      janus.destroy();
    } else if (kind === "event") {
      (msg.publishers || []).forEach(subscribe);
      if (msg.unpublished) { unsubscribe(msg.unpublished); }
      if (msg.leaving === "ok" || msg.reason === "kicked") {
        setStatus(msg.reason === "kicked" ? "主持人已将您移出会议。" : "您已离开会议。", "ended");
        janus.destroy();
      } else if (msg.leaving) {
        unsubscribe(msg.leaving);
      }
    }
    if (jsep) { handle.handleRemoteJsep({ jsep: jsep }); }
  }

  function start() {
    setStatus("正在连接视频会议服务…", "connecting");
    janus = new Janus({
      server: new URL(cfg.server, window.location.href).href,
      token: cfg.token,
      iceServers: cfg.iceServers || [],
      success: function () {
        janus.attach({
          plugin: "janus.plugin.videoroom",
          success: function (handle) {
            setStatus("正在进入会议室…", "joining");
            handle.send({ message: joinBody("publisher") });
            root.janusHandle = handle;
          },
          error: unavailable,
          onmessage: function (msg, jsep) { onPublisherMessage(root.janusHandle, msg, jsep); },
          onlocaltrack: function (track, on) {
            if (on && track.kind === "video") { Janus.attachMediaStream(localVideo, new MediaStream([track])); }
          }
        });
      },
      error: unavailable
    });
  }

  retryButton.addEventListener("click", start);
  leaveButton.addEventListener("click", function () {
    if (janus) { janus.destroy(); }
    setStatus("您已离开会议。", "ended");
  });

  if (typeof Janus === "undefined") {
    setStatus("视频会议组件未能加载，请刷新页面。", "error");
    return;
  }
  Janus.init({
    debug: false,
    dependencies: Janus.useDefaultDependencies(),
    callback: function () {
      if (!Janus.isWebrtcSupported()) {
        setStatus("此浏览器不支持视频会议（WebRTC），请使用新版浏览器或政务客户端。", "error");
        return;
      }
      start();
    }
  });
})();
