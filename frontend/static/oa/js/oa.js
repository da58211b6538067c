/* Small progressive enhancements; every page works without them. Loaded with defer (CSP: script-src 'self'). */
(function () {
  "use strict";

  // After a failed submit, move keyboard focus to the first field with an error so screen readers announce it.
  function focusFirstError() {
    var invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid && typeof invalid.focus === "function") {
      invalid.focus();
    }
  }

  // Prevent double submission of forms (a second click while the first request is in flight).
  function guardDoubleSubmit() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.dataset.submitted === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      window.setTimeout(function () { form.dataset.submitted = ""; }, 5000);
    });
  }

  // includes/file_picker.html: show the chosen file names beside the 选择文件 button (the native input, which
  // Chromium labels in English, is drawn under the button).
  function filePickers() {
    document.addEventListener("change", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches("input[data-file-picker]")) { return; }
      var shown = document.getElementById(input.id + "-name");
      if (!shown) { return; }
      var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
      shown.textContent = names.length ? names.join("、") : "未选择文件";
    });
  }

  // The service worker keeps an offline page and the shell assets (never a page with work in it).
  function registerServiceWorker() {
    if ("serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* optional */ });
    }
  }

  // 导航 更多 (a <details>, works without script): open for good on desktop, where the side navigation lists
  // everything; on phones close it with Escape or a tap elsewhere, and bring focus back to its summary.
  function navMore() {
    var more = document.querySelector("[data-nav-more]");
    if (!more || !window.matchMedia) { return; }
    var desktop = window.matchMedia("(min-width: 1024px)");
    function apply() { more.open = desktop.matches; }
    apply();
    if (desktop.addEventListener) { desktop.addEventListener("change", apply); }
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && more.open && !desktop.matches) {
        more.open = false;
        more.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (more.open && !desktop.matches && !more.contains(event.target)) { more.open = false; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    navMore();
    focusFirstError();
    guardDoubleSubmit();
    filePickers();
    registerServiceWorker();
  });
})();
