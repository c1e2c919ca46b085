"""Queries a person always handles, recognised by explicit bilingual rules beside the model.

A classifier trained on a dozen examples per intent misses some of these, and a miss here is
the costliest mistake the assistant can make: a customer who is being sued about, whose account
was taken over or who was just scammed must reach a person, never an article. So these rules
run before the model, and a match hands off whatever the model thinks. They are deliberately
narrow to the *victim* or *party* speaking ("I was scammed", "my account was taken over", "the
police asked me"): a question about how to recognise a scam or what 2FA is stays with the model.
"""

from __future__ import annotations

import re

# Word boundaries for English only: Chinese has none, and mixed text (``被hack了``) must match.
_EN = r"(?<![a-z])(?:{})(?![a-z])"


def _rule(english: str, chinese: str) -> re.Pattern[str]:
    return re.compile(f"{_EN.format(english)}|{chinese}", re.IGNORECASE)


#: Intent → the rule that recognises it, checked in this order.
RULES: dict[str, re.Pattern[str]] = {
    "legal_complaint": _rule(
        r"lawyers?|attorneys?|solicitors?|sue|suing|lawsuit|legal action|legal proceedings?|"
        r"court order|courts?|subpoena|summons|arbitration|regulators?|regulatory|sec|finra|"
        r"fca|ombudsman|consumer protection|police|law enforcement|investigators?|"
        r"warrant|gdpr|data protection authority|tax authority|class action|authorities|"
        r"legal (?:matter|issue|complaint|team|department)|breach of (?:contract|terms)|"
        r"(?:delete|erase|copy of) (?:all )?my (?:personal )?data",
        r"律师|起诉|诉讼|法院|法庭|法律程序|法律问题|走法律|仲裁|监管|证监会|银保监|金融监管|消协|"
        r"消费者协会|消费者权益|警察|警方|公安|报警|报案|立案|冻结令|传票|协查|调取|调证|网警|经侦|"
        r"个人数据|个人信息删除|维权|违反了?用户协议|投诉你们|投诉平台",
    ),
    "hacked_account": _rule(
        r"hack(?:ed|er|ers)?|compromised|taken over|took over|took control|account takeover|"
        r"unauthori[sz]ed|sim[- ]?swap(?:ped)?|stolen|stole|wasn'?t me|not me|didn'?t do (?:it|this)|"
        r"never made|did not make|didn'?t (?:make|authori[sz]e)|without my (?:permission|"
        r"consent|knowledge)|logged in(?:to my account)? and|someone (?:changed|logged)|"
        r"changed by someone|unknown device|never been to",
        r"被盗|盗号|盗走|盗用|盗了|被偷|入侵|被黑|黑客|被hack|被接管|被人登录|别人登录|有人登录|"
        r"陌生设备|陌生登录|异常登录|异地登录|补卡|被人控制|被别人控制|不是我本人|不是我操作|"
        r"不是我在操作|我没有操作|没有操作却|被别人改|被人改|有人改了我|被人转|被转走|被转空|资产被转",
    ),
    "fraud_report": _rule(
        r"(?:was|were|got|been|am being|being) (?:scammed|defrauded|conned|tricked|cheated|"
        r"deceived|ripped off)|scammed me|conned me|tricked me|scammers? (?:took|stole|has|"
        r"have|got)|report (?:a|the|this) (?:scam(?:mer)?|fraud(?:ster)?)|fraud(?:ster)? "
        r"(?:took|stole)|romance scam|pig butchering|fake (?:investment|giveaway|platform)|"
        r"never delivered|never released|vanished|disappeared with|blocked me|fraud report|"
        r"report(?:ing)? fraud|fraudulent|ponzi|fake payment|(?:p2p|c2c|otc|seller|buyer|trade|"
        r"investment) scam|scam investment|scammers?",
        r"被骗|受骗|上当|被诈骗|遭遇诈骗|诈骗了|举报|投资骗局|资金盘|杀猪盘|骗走|骗我|骗了|骗子|不放币|"
        r"被scam|刷单返利|拉黑了|跑路|对方没付款|假的付款",
    ),
}


def always_human(text: str) -> str | None:
    """The always-human intent whose rule ``text`` matches (normalized text), or None."""
    for intent, rule in RULES.items():
        if rule.search(text):
            return intent
    return None
