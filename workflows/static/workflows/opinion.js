/* Opinion box behaviour: live character counter, and 常用语 buttons that insert their phrase at the caret.
   Works for every [data-opinion-field] on the page; loaded with defer, possibly more than once. */
(function () {
  "use strict";
  if (window.oaOpinionReady) { return; }
  window.oaOpinionReady = true;

  function updateCounter(box, input) {
    var counter = box.querySelector("[data-opinion-counter]");
    if (!counter) { return; }
    var count = counter.querySelector("[data-opinion-count]");
    var max = parseInt(counter.getAttribute("data-max"), 10) || 0;
    var length = Array.from(input.value).length; // count characters, not UTF-16 units
    if (count) { count.textContent = String(length); }
    counter.classList.toggle("opinion-counter-full", max > 0 && length >= max);
  }

  function insertPhrase(input, phrase) {
    var start = input.selectionStart, end = input.selectionEnd;
    if (typeof start !== "number") { start = end = input.value.length; }
    var value = input.value;
    var text = phrase;
    var max = parseInt(input.getAttribute("maxlength"), 10) || 0;
    if (max > 0) {
      var room = max - Array.from(value).length + Array.from(value.slice(start, end)).length;
      if (room <= 0) { return; }
      text = Array.from(text).slice(0, room).join("");
    }
    input.value = value.slice(0, start) + text + value.slice(end);
    var caret = start + text.length;
    input.focus();
    input.setSelectionRange(caret, caret);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function addButton(list, input, text) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-secondary btn-small opinion-phrase";
    button.setAttribute("data-phrase", text);
    if (input.id) { button.setAttribute("aria-controls", input.id); }
    button.textContent = text;
    list.appendChild(button);
  }

  function loadPhrases(box, input, list) {
    var url = box.getAttribute("data-phrases-url");
    if (!url || list.querySelector("[data-phrase]")) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { phrases: [] }; })
      .then(function (data) { (data.phrases || []).forEach(function (p) { addButton(list, input, p.text); }); })
      .catch(function () { /* the box still works without phrases */ });
  }

  function setUp(box) {
    var input = box.querySelector("textarea, input[type=text]");
    if (!input) { return; }
    var list = box.querySelector("[data-opinion-phrases]");
    input.addEventListener("input", function () { updateCounter(box, input); });
    updateCounter(box, input);
    if (list) {
      list.addEventListener("click", function (event) {
        var button = event.target.closest("[data-phrase]");
        if (button) { insertPhrase(input, button.getAttribute("data-phrase")); }
      });
      loadPhrases(box, input, list);
    }
  }

  function init(root) {
    (root || document).querySelectorAll("[data-opinion-field]").forEach(function (box) {
      if (box.hasAttribute("data-opinion-ready")) { return; }
      box.setAttribute("data-opinion-ready", "");
      setUp(box);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  if (document.readyState !== "loading") { init(document); }
  // Step forms swapped in by htmx get their boxes set up too.
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
