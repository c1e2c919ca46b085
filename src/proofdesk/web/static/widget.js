// The ProofDesk chat widget, for a platform's own site:
//   <script src="https://desk.example/static/widget.js" data-organization="demo" async></script>
// It adds a chat button; the chat itself is a frame from the help desk (/widget), so the
// platform's page never sees the customer's messages or session.
"use strict";
(function () {
  const script = document.currentScript;
  if (!script || document.getElementById("proofdesk-widget")) return;
  const origin = new URL(script.src).origin;
  const organization = script.dataset.organization || "";
  const lang =
    script.dataset.lang || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en");
  const label = script.dataset.label || (lang === "zh-CN" ? "在线客服" : "Chat with us");

  const button = document.createElement("button");
  button.type = "button";
  button.id = "proofdesk-widget-button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483646",
    background: "#0b5cad", color: "#fff", border: "0", borderRadius: "999px",
    padding: "12px 18px", font: "600 15px system-ui, sans-serif", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)",
  });

  const frame = document.createElement("iframe");
  frame.id = "proofdesk-widget";
  frame.title = label;
  frame.src = origin + "/widget?org=" + encodeURIComponent(organization) + "&lang=" + lang;
  frame.hidden = true;
  // A phone (a narrow screen) gets the whole screen; a desk a 380×560 frame above the button.
  const phone = window.matchMedia("(max-width: 480px)");
  function place() {
    const style = phone.matches
      ? { right: "0", bottom: "0", width: "100vw", height: "100dvh", border: "0", borderRadius: "0" }
      : {
        right: "20px", bottom: "76px", width: "min(380px, calc(100vw - 40px))",
        height: "min(560px, calc(100vh - 100px))", border: "1px solid #d5dbe1",
        borderRadius: "12px",
      };
    Object.assign(frame.style, style);
  }
  Object.assign(frame.style, {
    position: "fixed", background: "#fff", zIndex: "2147483647",
    boxShadow: "0 8px 28px rgba(0,0,0,.25)",
  });
  place();
  phone.addEventListener("change", place);

  function open(shown) {
    frame.hidden = !shown;
    button.setAttribute("aria-expanded", String(shown));
    // Full-screen on a phone: the launcher steps aside while the chat is open.
    button.hidden = shown && phone.matches;
    if (!shown) button.focus();
  }
  button.addEventListener("click", () => open(frame.hidden));
  // The frame's close button asks; only our own frame's messages count.
  window.addEventListener("message", (event) => {
    if (event.origin === origin && event.source === frame.contentWindow &&
        event.data && event.data.proofdesk === "close") open(false);
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();
