// Sign-In with Ethereum from the sign-in page, through the browser's EIP-1193 wallet
// (window.ethereum): the service prepares the EIP-4361 message for the wallet's address and
// chain, the wallet shows it and signs it (personal_sign), the service checks it and opens the
// session (the same HttpOnly cookie as a password sign-in). Without a wallet the section stays
// hidden and the page works as before.
(function () {
  "use strict";
  const box = document.getElementById("wallet-sign-in");
  const provider = window.ethereum;
  if (!box || !provider || typeof provider.request !== "function") return;
  box.hidden = false;
  const button = document.getElementById("wallet-button");
  const status = document.getElementById("wallet-status");
  const MESSAGES = {
    4001: "rejected",
    wrong_chain: "wrongChain",
    staff_wallet: "staff",
    account_disabled: "disabled",
    no_such_organization: "noOrg",
    rate_limited: "limited",
  };

  function say(key) {
    status.textContent = box.dataset[key] || box.dataset.failed;
  }

  function hex(text) {
    const bytes = new TextEncoder().encode(text);
    return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw { code: data.error ? data.error.code : "failed" };
    return data;
  }

  button.addEventListener("click", async function () {
    const organization = document.getElementById("organization");
    if (!organization.value.trim()) {
      say("needOrg");
      organization.focus();
      return;
    }
    button.disabled = true;
    say("working");
    try {
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      const chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
      const offer = await post("/api/v1/auth/siwe/nonce", {
        organization: organization.value.trim(),
        address: accounts[0],
        chain_id: chainId,
      });
      const signature = await provider.request({
        method: "personal_sign",
        params: [hex(offer.message), accounts[0]],
      });
      await post("/api/v1/auth/siwe/verify", { message: offer.message, signature: signature });
      window.location.assign(box.dataset.next);
    } catch (error) {
      say(MESSAGES[error && error.code] || "failed");
      button.disabled = false;
    }
  });
})();
