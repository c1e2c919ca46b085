"""What the demo exchange keeps beside its tickets so that a newcomer sees the desk's care at
work: canned replies in both languages, a published service contract and automation rules
(active, so the workers act on what happens next), and the customers' ratings.

Everything goes through the same ``do_*`` actions as the console and the API.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from proofdesk.access import Actor
from proofdesk.actions.contracts import do_activate, do_publish
from proofdesk.actions.macros import do_create_macro

#: Canned replies, shared with every agent: (name, title, reply).
DEMO_MACROS: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    (
        "greeting",
        {"en": "Greeting", "zh-CN": "问候"},
        {
            "en": "Hello {{customer.name}}, thank you for contacting us about request "
            "#{{ticket.number}}. I am {{agent.name}} and I will look after it.",
            "zh-CN": "{{customer.name}}，您好！感谢您就工单 #{{ticket.number}} 联系我们。"
            "我是{{agent.name}}，将负责跟进。",
        },
    ),
    (
        "ask-tx-hash",
        {"en": "Ask for the transaction hash", "zh-CN": "索取交易哈希"},
        {
            "en": "To check this on chain, please send the transaction hash (TxID) and the "
            "network you used (for example Tron for USDT-TRC20).",
            "zh-CN": "为便于链上核查，请提供交易哈希（TxID）以及所用的网络（例如 USDT-TRC20 "
            "对应 Tron 网络）。",
        },
    ),
    (
        "deposit-confirming",
        {"en": "Deposit still confirming", "zh-CN": "充值确认中"},
        {
            "en": "Your deposit is on chain and waiting for confirmations. It is credited "
            "automatically once they are reached; you do not need to do anything.",
            "zh-CN": "您的充值已上链，正在等待区块确认。达到确认数后会自动入账，您无需任何操作。",
        },
    ),
    (
        "closing",
        {"en": "Closing words", "zh-CN": "结束语"},
        {
            "en": "Is there anything else I can help you with, {{customer.name}}? If not, this "
            "request will be marked as solved.",
            "zh-CN": "{{customer.name}}，请问还有其他需要帮助的吗？如无，本工单将标记为已解决。",
        },
    ),
)

#: Answers late: say sorry and move the request up (decided when an SLA target breaches).
DEMO_CONTRACT = """\
apiVersion: proofdesk/v1
kind: ServiceContract
metadata:
  name: late-reply-apology
  version: 1
  title:
    en: An apology and a faster lane when we answer late
    zh-CN: 回复超时时致歉并优先处理
spec:
  appliesTo: [question, complaint, refund_request, warranty_claim, transaction_problem]
  decideOn: [sla_breached]
  facts:
    customer.tier: string
  rules:
    - id: vip-late
      when: customer.tier == "vip"
      decision: valid
      reason:
        en: We missed the response time we promise our VIP customers. We apologise; your request now has the highest priority.
        zh-CN: 我们未能在对 VIP 客户承诺的时间内回复，深表歉意；您的请求已调至最高优先级。
      actions:
        - type: escalate_priority
          priority: urgent
  otherwise:
    decision: valid
    reason:
      en: We missed the response time we promise. We apologise; your request is moved up the queue.
      zh-CN: 我们未能在承诺的时间内回复，深表歉意；您的请求已优先处理。
    actions:
      - type: escalate_priority
        priority: high
"""

#: Routes what customers write by its words, as it arrives (the demo's team names).
DEMO_AUTOMATION = """\
apiVersion: proofdesk/v1
kind: Automation
metadata:
  name: triage
  version: 1
  title:
    en: Triage incoming messages
    zh-CN: 来信分诊
spec:
  appliesTo: [question, complaint, transaction_problem]
  triggers: [message]
  facts:
    message.body: string
    message.from_customer: bool
  rules:
    - id: security-words
      when: message.from_customer && message.body.matches("(?i)被盗|盗号|hacked|stolen|phishing|钓鱼")
      actions:
        - {type: add_tags, tags: [security]}
        - {type: escalate_priority, priority: urgent}
        - {type: route_to_team, team: "Account Security / 账户安全"}
    - id: refund-words
      when: message.from_customer && message.body.matches("(?i)退款|refund|chargeback")
      actions:
        - {type: add_tags, tags: [refund]}
        - {type: route_to_team, team: "After-sales / 售后"}
"""


def create_demo_macros(session: Session, supervisor: Actor) -> None:
    for name, title, body in DEMO_MACROS:
        do_create_macro(session, supervisor, name, title, [{"type": "reply", "body": body}])


def publish_demo_rules(session: Session, admin: Actor) -> None:
    """Publish and activate the demo's contract and automation: from now on they decide."""
    for source in (DEMO_CONTRACT, DEMO_AUTOMATION):
        row, _ = do_publish(session, admin, source)
        do_activate(session, admin, row.contract_hash)
