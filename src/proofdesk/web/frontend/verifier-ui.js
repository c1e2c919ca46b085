// The verifier page: reads the receipt and the keys the user gives, runs verify-core, shows
// every check. No network access at all: the page works the same from file://.

import { Key, parseWitnessKey, toHex, verifyText } from "./verify-core.js";

const PIN = "proofdesk-verifier-pinned-key";

const ZH = {
  title: "核验回执",
  intro: "本页按与 proofdesk verify 相同的规则核验 ProofDesk 回执：每个包含证明（RFC 9162）、检查点签名（C2SP 签名笔记，Ed25519）、见证人联署、所揭示字段的承诺，以及所揭示的钱包签名（EIP-712）。全部在您的浏览器中运行，不向任何地方发送数据；它只信任您提供的密钥，从不信任提供本页的服务器。",
  download: "将此核验器下载为单个 HTML 文件",
  "download-why": "（可离线使用；保存它，无需本服务器即可核验回执。）",
  "receipt-legend": "回执",
  "receipt-file": "回执文件（JSON）",
  "receipt-text": "或粘贴到这里",
  "key-legend": "日志密钥",
  key: "日志验证密钥（name+id+base64），请从独立渠道获取：组织的网站、见证人、同事",
  remember: "在此设备上固定此密钥",
  more: "更多检查：其他来源的检查点、较早的检查点、见证人",
  checkpoint: "从其他来源获得的签名检查点，回执中的检查点必须与之一致",
  since: "您保存的较早的签名检查点（可发现回滚或分叉；回执须带有从它开始的一致性证明）",
  witnesses: "其联署有效的见证人密钥，每行一个",
  "min-witnesses": "其中至少多少个必须已联署（留空：全部）",
  check: "核验回执",
  checks: "检查项",
  revealed: "揭示的内容",
  "col-leaf": "叶",
  "col-field": "字段",
  "col-value": "值",
  noscript: "此核验器需要 JavaScript；也可以运行 proofdesk verify receipt.json --key log.vkey。",
  valid: "有效",
  invalid: "无效",
  unreadable: "无法读取",
  error: "无法核验",
  "no-receipt": "请先选择或粘贴一份回执。",
  "pinned": "已固定的密钥：",
  "verified-against": "检查点的签名已用此密钥核验：",
  "from-receipt": "（取自回执本身，未固定：请与组织公布的密钥比对）",
  "failed-checks": "项检查未通过",
  "passed-checks": "项检查通过",
};
const EN = {
  valid: "VALID",
  invalid: "INVALID",
  unreadable: "UNREADABLE",
  error: "CANNOT CHECK",
  "no-receipt": "Choose or paste a receipt first.",
  pinned: "Pinned key: ",
  "verified-against": "The checkpoint's signature was verified against the key ",
  "from-receipt": " (taken from the receipt itself, not pinned: compare it with the key the organisation publishes)",
  "failed-checks": "check(s) failed",
  "passed-checks": "checks passed",
};

const chinese = (navigator.languages || [navigator.language || "en"])[0].toLowerCase().startsWith("zh");
const t = (id) => (chinese ? ZH[id] : EN[id]) ?? EN[id] ?? id;
const $ = (id) => document.getElementById(id);

function localise() {
  if (!chinese) return;
  document.documentElement.lang = "zh-CN";
  document.title = "ProofDesk 回执核验器";
  for (const node of document.querySelectorAll("[data-t]")) {
    if (ZH[node.dataset.t]) node.textContent = ZH[node.dataset.t];
  }
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // some browsers refuse storage to file:// pages
  }
}

function showPinned() {
  const pinned = storage()?.getItem(PIN);
  const note = $("pinned-note");
  note.hidden = !pinned;
  if (pinned) note.textContent = t("pinned") + pinned;
  return pinned;
}

function li(parent, text, attrs = {}) {
  const node = document.createElement("li");
  node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.dataset[k] = v;
  parent.append(node);
}

function show(verdict, summary, report = null, keyFromReceipt = false) {
  $("result").hidden = false;
  const head = $("verdict");
  head.dataset.verdict = verdict;
  head.textContent = t(verdict);
  $("summary").textContent = summary;
  $("verified-key").textContent = "";
  for (const id of ["warnings", "checks"]) $(id).replaceChildren();
  $("revealed").tBodies[0].replaceChildren();
  $("revealed-box").hidden = true;
  if (report === null) return;
  if (report.key !== null && report.checkpoint !== null) {
    const code = document.createElement("code");
    code.id = "checkpoint-key";
    code.textContent = report.key.encode();
    $("verified-key").append(t("verified-against"), code, keyFromReceipt ? t("from-receipt") : "");
  }
  for (const w of report.warnings) li($("warnings"), w);
  $("checks-count").textContent = String(report.checks.length);
  $("checks-box").open = !report.ok;
  for (const c of report.checks) li($("checks"), `${c.ok ? "✓" : "✗"} ${c.item}: ${c.detail}`, { item: c.item, ok: String(c.ok) });
  for (const { index, name, value } of report.revealed) {
    const row = $("revealed").tBodies[0].insertRow();
    row.insertCell().textContent = String(index);
    row.insertCell().textContent = name;
    row.insertCell().textContent = typeof value === "string" ? value : JSON.stringify(value);
  }
  $("revealed-box").hidden = report.revealed.length === 0;
}

function options() {
  const text = $("key").value.trim();
  const key = text ? Key.parse(text) : null;
  const witnesses = $("witnesses").value.split("\n").map((l) => l.trim()).filter(Boolean).map(parseWitnessKey);
  const min = $("min-witnesses").value.trim();
  const minWitnesses = min === "" ? witnesses.length : Number(min);
  if (!Number.isInteger(minWitnesses) || (min !== "" && minWitnesses < 1) || minWitnesses > witnesses.length) {
    throw new Error(`at least ${min} witnesses need at least that many witness keys`);
  }
  const note = (id) => ($(id).value.trim() ? $(id).value.replace(/\r\n/g, "\n") : null);
  return { key, witnesses, minWitnesses, checkpointNote: note("checkpoint"), sinceNote: note("since") };
}

async function check(event) {
  event.preventDefault();
  let text = $("receipt").value;
  const file = $("receipt-file").files[0];
  if (file && !text.trim()) text = await file.text();
  if (!text.trim() && !file) {
    show("error", t("no-receipt"));
    return;
  }
  let opts;
  try {
    opts = options();
  } catch (exc) {
    show("error", exc.message);
    return;
  }
  if ($("remember").checked && opts.key !== null) {
    storage()?.setItem(PIN, opts.key.encode());
    showPinned();
  }
  const result = verifyText(text, opts);
  if (result.report === null) {
    show("unreadable", result.detail);
    return;
  }
  const { report, receipt } = result;
  const passed = report.checks.filter((c) => c.ok).length;
  let summary;
  if (result.verdict === "valid") {
    const cp = report.checkpoint;
    summary = `receipt of ticket ${receipt.ticket_id}: ${receipt.entries.length} events in log ${cp.origin} at size ${cp.size}; ${passed} ${t("passed-checks")}`;
    if (report.anchoredSize > 0n) {
      const covered = receipt.entries.filter((e) => BigInt(e.index) < report.anchoredSize).length;
      summary += `; ${covered} of ${receipt.entries.length} events are in the tree anchored at size ${report.anchoredSize}`;
    }
  } else {
    summary = `${report.failures.length} ${t("failed-checks")}`;
  }
  show(result.verdict, summary, report, opts.key === null);
  document.body.dataset.checked = String(Date.now());
  void toHex;
}

function start() {
  localise();
  if (location.protocol !== "file:") $("download").hidden = false;
  const pinned = showPinned();
  if (pinned) {
    $("key").value = pinned;
    $("remember").checked = true;
  }
  $("receipt-file").addEventListener("change", async () => {
    const file = $("receipt-file").files[0];
    if (file) $("receipt").value = await file.text();
  });
  $("form").addEventListener("submit", (event) => {
    check(event).catch((exc) => show("error", String(exc)));
  });
  document.body.dataset.ready = "1";
}

start();
