// Filing a request on chain from the request page, through the browser's EIP-1193 wallet
// (window.ethereum): the service keeps the request's text and answers with its commitment and
// the RequestInbox call (with the gas it costs), the wallet sends that call, and the page
// follows the filing until the service has opened the request from the final event. Only the
// commitment goes on chain. Without a wallet the section stays hidden.
(function () {
  "use strict";
  const box = document.getElementById("file-on-chain");
  const provider = window.ethereum;
  if (!box || !provider || typeof provider.request !== "function") return;
  box.hidden = false;
  const button = document.getElementById("chain-button");
  const status = document.getElementById("chain-status");
  const cost = document.getElementById("chain-cost");

  function say(key, values) {
    let text = box.dataset[key] || box.dataset.failed;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replace("{" + name + "}", String(value));
    }
    status.textContent = text;
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method: method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw { code: data.error ? data.error.code : "failed" };
    return data;
  }

  function coin(wei) {
    return (Number(wei) / 1e18).toPrecision(3);
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function follow(id) {
    const deadline = Date.now() + 10 * 60 * 1000;
    while (Date.now() < deadline) {
      const state = await api("GET", "/api/v1/chain-requests/" + encodeURIComponent(id));
      if (state.ticket_id) {
        window.location.assign("/requests/" + encodeURIComponent(state.ticket_id));
        return;
      }
      const last = state.filings[state.filings.length - 1];
      if (last && last.status === "refused") {
        say("refused");
        return;
      }
      if (last && last.status === "unmatched") say("unmatched");
      await sleep(1500);
    }
  }

  button.addEventListener("click", async function () {
    const form = document.querySelector("form[action='/requests/new']");
    const kind = form.querySelector("input[name=kind]:checked");
    const subject = form.querySelector("#subject").value.trim();
    const body = form.querySelector("#body").value.trim();
    if (!subject || !body) {
      say("incomplete");
      return;
    }
    button.disabled = true;
    say("working");
    try {
      const draft = await api("POST", "/api/v1/chain-requests", {
        kind: kind ? kind.value : "question",
        subject: subject,
        body: body,
      });
      const call = draft.call;
      if (call.gas !== null && call.cost_wei !== null) {
        cost.textContent = box.dataset.cost
          .replace("{gas}", call.gas.toLocaleString())
          .replace("{fee}", coin(call.cost_wei));
      }
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      const chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
      if (chainId !== call.chain_id) {
        say("wrongChain", { chain: call.chain_id });
        button.disabled = false;
        return;
      }
      say("confirm");
      await provider.request({
        method: "eth_sendTransaction",
        params: [{ from: accounts[0], to: call.to, data: call.data }],
      });
      say("sent");
      await follow(draft.id);
    } catch (error) {
      say(error && error.code === 4001 ? "rejected" : "failed");
      button.disabled = false;
    }
  });
})();
