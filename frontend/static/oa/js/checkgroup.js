/* Checkbox groups (includes/checkbox_group.html): 全选/全不选, one toggle per category (区直单位, 镇街 …) and a live
   “已选 N 个”. Without this file the boxes are plain checkboxes that post the same. CSP: loaded with src, defer. */
(function () {
  "use strict";
  if (window.oaCheckGroups) { return; }  // the template may be on a page more than once
  window.oaCheckGroups = true;

  function toArray(list) { return Array.prototype.slice.call(list); }
  function usable(boxes) { return boxes.filter(function (b) { return !b.disabled; }); }
  function allTicked(boxes) {
    var list = usable(boxes);
    return list.length > 0 && list.every(function (b) { return b.checked; });
  }

  function setUp(group) {
    var tools = group.querySelector("[data-checkgroup-tools]");
    if (!tools || group.dataset.checkgroupReady === "1") { return; }
    group.dataset.checkgroupReady = "1";
    var boxes = toArray(group.querySelectorAll('input[type="checkbox"]'));
    var all = tools.querySelector("[data-checkgroup-all]");
    var count = tools.querySelector("[data-checkgroup-count]");
    var toggles = toArray(tools.querySelectorAll("[data-checkgroup-select]"));

    function inGroup(key) { return boxes.filter(function (b) { return b.getAttribute("data-group") === key; }); }

    function refresh() {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      count.textContent = "已选 " + ticked + " 个";
      all.textContent = allTicked(boxes) ? "全不选" : "全选";
      toggles.forEach(function (button) {
        var on = allTicked(inGroup(button.getAttribute("data-checkgroup-select")));
        button.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }

    function tick(list, value) {
      usable(list).forEach(function (b) { b.checked = value; });
      refresh();
    }

    all.addEventListener("click", function () { tick(boxes, !allTicked(boxes)); });
    toggles.forEach(function (button) {
      button.addEventListener("click", function () {
        var list = inGroup(button.getAttribute("data-checkgroup-select"));
        tick(list, !allTicked(list));
      });
    });
    group.addEventListener("change", refresh);
    tools.hidden = false;
    refresh();
  }

  function setUpAll() { toArray(document.querySelectorAll("[data-checkgroup]")).forEach(setUp); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
