// Claiming a settled reward epoch from the rewards page, through the browser's EIP-1193 wallet
// (window.ethereum): the page already carries the RewardDistributor.claim call (the proof
// included), the wallet sends it, and the page reloads to show the claim. Without a wallet the
// buttons stay hidden; the proof is on the page and in the API for any other wallet.
(function () {
  "use strict";
  const list = document.querySelector("ul.claims");
  const provider = window.ethereum;
  if (!list || !provider || typeof provider.request !== "function") return;

  function say(status, key, values) {
    let text = list.dataset[key] || list.dataset.failed;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replace("{" + name + "}", String(value));
    }
    status.textContent = text;
  }

  for (const button of list.querySelectorAll("button.claim")) {
    button.hidden = false;
    const status = button.parentElement.querySelector(".claim-status");
    button.addEventListener("click", async function () {
      button.disabled = true;
      try {
        const accounts = await provider.request({ method: "eth_requestAccounts" });
        const chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
        const wanted = Number(button.dataset.chain);
        if (chainId !== wanted) {
          say(status, "wrongChain", { chain: wanted });
          button.disabled = false;
          return;
        }
        say(status, "confirm");
        await provider.request({
          method: "eth_sendTransaction",
          params: [{ from: accounts[0], to: button.dataset.to, data: button.dataset.data }],
        });
        say(status, "sent");
        setTimeout(function () { window.location.reload(); }, 3000);
      } catch (error) {
        say(status, error && error.code === 4001 ? "rejected" : "failed");
        button.disabled = false;
      }
    });
  }
})();
