// PDF 预览：某页图像加载失败时显示原因并提供“重试”（加载中的提示由 CSS 显示，不依赖脚本）。
(function () {
  "use strict";
  function fail(img) {
    var figure = img.closest(".preview-figure");
    if (!figure || figure.classList.contains("is-failed")) return;
    figure.classList.add("is-failed");
    var label = figure.querySelector(".preview-loading");
    if (label) {
      label.textContent = "第 " + img.getAttribute("data-preview-page") + " 页加载失败。";
      label.removeAttribute("aria-hidden");
      label.setAttribute("role", "alert");
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn btn-secondary btn-small preview-retry";
      retry.textContent = "重试";
      retry.addEventListener("click", function () {
        figure.classList.remove("is-failed");
        label.textContent = "正在重新加载…";
        var src = img.getAttribute("src").split("?")[0];
        img.setAttribute("src", src + "?retry=" + Date.now());
      });
      label.appendChild(retry);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("img[data-preview-page]").forEach(function (img) {
      img.addEventListener("error", function () { fail(img); });
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("loading") !== "lazy") fail(img);
    });
  });
})();
