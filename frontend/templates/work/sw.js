{% autoescape off %}/* Service worker of the workbench (served at /sw.js, scope "/").
   It keeps only the public shell (offline page, stylesheet, scripts, icons) — never a page with 公文 or a
   person's work, because devices are shared and the cache outlives the session. Pages always come from the
   network; when the network is down the cached offline page is shown instead. */
"use strict";

var CACHE = "oa-shell-{{ version }}";
var PRECACHE = {{ precache }};
var OFFLINE_URL = "{{ offline_url }}";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(PRECACHE.map(function (url) { return new Request(url, { cache: "reload" }); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("oa-shell-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }

  if (request.mode === "navigate") {
    // Network first; the offline page only when the network fails (not on HTTP errors).
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE_URL, { cacheName: CACHE });
    }));
    return;
  }
  if (PRECACHE.indexOf(url.pathname) !== -1) {
    // Shell assets: the network keeps them fresh, the cache covers an outage.
    event.respondWith(fetch(request).catch(function () {
      return caches.match(url.pathname, { cacheName: CACHE });
    }));
  }
});
{% endautoescape %}
