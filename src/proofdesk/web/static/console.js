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
