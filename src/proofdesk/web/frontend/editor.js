// The rule editor of the admin (service contracts and automation rules, YAML): CodeMirror 6
// with line numbers over the form's textarea, and the contract checker's errors on their lines
// (POST /admin/contracts/lint, the same checker as "Check" and "Publish").
//
// The textarea stays the form's field and the source of truth for the form: the editor writes
// every change back into it, and what is typed into it (by a script, an assistive tool) comes
// back into the editor. Without JavaScript the textarea is simply the editor.

import { EditorView, basicSetup } from "codemirror";
import { linter, lintGutter, forceLinting } from "@codemirror/lint";

function lineDiagnostic(view, error) {
  const count = view.state.doc.lines;
  const number = Math.min(Math.max(error.line || 1, 1), count);
  const line = view.state.doc.line(number);
  return { from: line.from, to: line.to, severity: "error", message: error.message };
}

const theme = EditorView.theme({
  "&": { maxHeight: "38rem", fontSize: "0.9rem", backgroundColor: "#fff" },
  "&.cm-focused": { outline: "2px solid #1c5fae" },
  ".cm-scroller": { fontFamily: 'ui-monospace, "Noto Sans Mono CJK SC", monospace' },
});

function attach(area) {
  const form = area.form;
  const url = area.dataset.lint;
  const label = document.querySelector(`label[for="${area.id}"]`);
  let lintErrors = [];
  const initial = area.dataset.errorLine
    ? [{ line: Number(area.dataset.errorLine), message: area.dataset.errorMessage || "" }]
    : [];

  async function lint(view) {
    const body = new FormData();
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.set("source", view.state.doc.toString());
    try {
      const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
      if (!response.ok) return [];
      lintErrors = (await response.json()).errors;
    } catch {
      return initial.map((e) => lineDiagnostic(view, e)); // offline: keep what the server said
    }
    return lintErrors.map((e) => lineDiagnostic(view, e));
  }

  const holder = document.createElement("div");
  holder.className = "code-editor";
  area.after(holder);
  // In a shadow root CodeMirror styles itself with constructed style sheets, which the site's
  // Content-Security-Policy (no inline style) allows; in the document it would add <style>.
  const shadow = holder.attachShadow({ mode: "open" });
  const parent = document.createElement("div");
  shadow.append(parent);
  const view = new EditorView({
    doc: area.value,
    parent,
    root: shadow,
    extensions: [
      basicSetup,
      theme,
      lintGutter(),
      linter(lint, { delay: 400 }),
      EditorView.contentAttributes.of({ "aria-label": label ? label.textContent : "source" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) area.value = update.state.doc.toString();
      }),
    ],
  });
  area.classList.add("behind-editor");
  area.tabIndex = -1;
  area.setAttribute("aria-hidden", "true");
  area.addEventListener("input", () => {
    if (area.value !== view.state.doc.toString()) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: area.value } });
    }
  });
  if (label) label.addEventListener("click", () => view.focus());
  forceLinting(view);
  holder.dataset.ready = "1";
}

for (const area of document.querySelectorAll("textarea[data-lint]")) attach(area);
