// 纸质来文上传：显示上传进度（XMLHttpRequest 的 upload.onprogress）。服务器的回应（成功后的跳转或带错误提示的表单）
// 原样替换当前页面；浏览器不支持时表单按普通方式提交，功能不受影响。不使用内联脚本（CSP）。
(function () {
  "use strict";
  function human(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.ceil(bytes / 1024) + " KB";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-receipt-upload]").forEach(function (form) {
      var box = form.querySelector("[data-upload-progress]");
      var bar = form.querySelector("[data-upload-bar]");
      var status = form.querySelector("[data-upload-status]");
      var button = form.querySelector("button[type=submit]");
      var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
      form.addEventListener("submit", function (event) {
        if (!window.FormData || !window.XMLHttpRequest) return;
        var input = form.querySelector("input[type=file]");
        var file = input && input.files && input.files[0];
        if (file && max && file.size > max) {
          event.preventDefault();
          box.hidden = false;
          status.textContent = "文件过大（" + human(file.size) + "），单个文件不能超过 " + human(max) + "。";
          return;
        }
        event.preventDefault();
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) return;
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          status.textContent = "已上传 " + pct + "%（" + human(e.loaded) + " / " + human(e.total) + "）";
        });
        xhr.upload.addEventListener("load", function () {
          status.textContent = "上传完成，正在检查文件…";
        });
        xhr.addEventListener("load", function () {
          if (xhr.responseURL && xhr.responseURL !== form.action && xhr.status < 400) {
            window.location.assign(xhr.responseURL);
            return;
          }
          document.open();
          document.write(xhr.responseText);
          document.close();
        });
        xhr.addEventListener("error", function () {
          status.textContent = "网络中断，上传未完成，请重试。";
          if (button) { button.disabled = false; }
        });
        box.hidden = false;
        if (button) {
          button.disabled = true;
          button.textContent = button.getAttribute("data-busy-text") || "正在上传…";
        }
        xhr.send(new FormData(form));
      });
    });
  });
})();
