// Keyboard shortcuts of the agent console (listed on the page under "Keyboard shortcuts"):
// j / k next / previous ticket in a list, x tick it, Enter open it; r reply, i internal
// note, s status; ? show the list. Keys typed into a field are never taken.
"use strict";
(function () {
  function rows() {
    return Array.from(document.querySelectorAll("table.list tbody tr"));
  }
  function current() {
    return document.activeElement && document.activeElement.closest("table.list tbody tr");
  }
  function focusRow(row) {
    const link = row && row.querySelector("a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const all = rows();
    const here = all.indexOf(current());
    const focus = (selector) => {
      const element = document.querySelector(selector);
      if (!element) return;
      event.preventDefault();
      element.focus();
    };
    switch (event.key) {
      case "j": event.preventDefault(); focusRow(all[Math.min(all.length - 1, here + 1)]); break;
      case "k": event.preventDefault(); focusRow(all[Math.max(0, here - 1)]); break;
      case "x": {
        const box = here >= 0 && all[here].querySelector("input[type=checkbox]");
        if (box) { event.preventDefault(); box.checked = !box.checked; }
        break;
      }
      case "r": focus("#reply"); break;
      case "i": {
        const note = document.querySelector("input[name=visibility][value=internal]");
        if (note) { note.checked = true; focus("#reply"); }
        break;
      }
      case "s": focus("#status"); break;
      case "?": {
        const help = document.getElementById("shortcuts");
        if (help) { event.preventDefault(); help.open = !help.open; }
        break;
      }
    }
  });
})();

// "Insert" on a suggested answer or a canned reply puts its text into the reply box at the
// cursor (the side panel is loaded after the page, so the click is caught on the document).
(function () {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.insert-reply[data-insert]");
    if (!button) return;
    const box = document.getElementById("reply");
    if (!box) return;
    event.preventDefault();
    const text = button.getAttribute("data-insert");
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const gap = before && !before.endsWith("\n") ? "\n\n" : "";
    box.value = before + gap + text + box.value.slice(end);
    const caret = (before + gap + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
