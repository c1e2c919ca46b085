"""Reply templates that contract actions name (``type: reply, template: …``), in both
languages. A contract that names a template not listed here is refused when published."""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    "refund-approved": {
        "en": "Your refund is on its way to your verified wallet. You will see the transaction "
        "in this request's history once it is confirmed on chain.",
        "zh-CN": "退款正在发送至您已验证的钱包。链上确认后，您可以在本工单记录中看到该笔交易。",
    },
    "warranty-approved": {
        "en": "Your warranty claim is accepted. Our warranty team will contact you about the "
        "replacement or refund.",
        "zh-CN": "您的保修申请已通过，保修团队将与您联系更换或退款事宜。",
    },
    "withdrawal-confirmed": {
        "en": "Your withdrawal is confirmed on chain. If it has not arrived, check that the "
        "receiving address, network and memo/tag are right, or ask the receiving platform.",
        "zh-CN": "您的提币已在链上确认。如仍未到账，请核对收款地址、网络及备注（Memo/Tag），"
        "或联系收款平台。",
    },
    "information-needed": {
        "en": "We need a little more information to decide your request.",
        "zh-CN": "我们需要更多信息才能处理您的申请。",
    },
}

#: Said when a customer pasted a seed phrase, a private key or a keystore file.
SECRET_WARNING = {
    "en": "Your message contained a secret (a seed phrase, a private key or a keystore file). "
    "We removed it before storing anything, but anyone who saw it can take your funds: move "
    "them to a new wallet now. We will never ask for your seed phrase or private key.",
    "zh-CN": "您的消息中包含机密信息（助记词、私钥或密钥库文件）。我们已在保存前将其删除，"
    "但任何看到它的人都可能转走您的资产：请立即将资产转移到新钱包。我们绝不会索要您的助记词或私钥。",
}

#: Said when a payment the decision ordered waits for a person (above a limit, say).
HELD = {
    "en": "The payment needs a supervisor's approval first (it is above our automatic limits, "
    "or we need to confirm your wallet); you will see it in this request once it is sent.",
    "zh-CN": "该笔付款需先经主管批准（超出自动限额，或需确认您的钱包），发送后将显示在本工单中。",
}

#: What the customer is told about appealing an automatic decision, with the rule to cite.
APPEAL = {
    "en": "Decided automatically by rule “{rule}” of our published service contract {name} "
    "v{version} ({hash}). To appeal, reply to this request citing that rule; a person will "
    "review it.",
    "zh-CN": "本结果由我们公开的服务合约 {name} v{version}（{hash}）中的规则“{rule}”自动作出。"
    "如有异议，请回复本工单并注明该规则，将由人工复核。",
}


def text(values: dict[str, str], locale: str) -> str:
    return values.get(locale) or values["en"]
