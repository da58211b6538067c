// 附件上传：提交后禁用按钮并提示“正在上传”，防止重复提交（表单本身不依赖脚本）。
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-upload-form]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        var status = form.querySelector("[data-upload-status]");
        if (button) {
          button.disabled = true;
          button.textContent = button.getAttribute("data-busy-text") || "正在上传…";
        }
        if (status) status.textContent = "正在上传并检查文件，大文件可能需要一些时间。";
      });
    });
  });
})();
