"""Rewards on the pages: ``/rewards`` (a customer's points — pending, vested, claimed, with
the rule that gave each — and claiming a settled epoch from the browser's EIP-1193 wallet) and
``/agent/rewards`` (staff: the organization's rewards ledger)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from proofdesk.access import visible_reward_grants
from proofdesk.actions import rewards as reward_actions
from proofdesk.app.services import services_of
from proofdesk.canonical import utc_now
from proofdesk.web.pages import WebRoute, reading, render, signed_in, staff

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/rewards")
def my_rewards(request: Request) -> Response:
    visitor = signed_in(request)
    if visitor.is_staff:
        return RedirectResponse("/agent/rewards", 303)
    services = services_of(request)
    points = reward_actions.points_of(services.db, visitor.actor, services.chain_or_none)
    with reading(request) as session:
        policy = reward_actions.active_policy(session, visitor.actor.organization_id)
    return render(request, visitor, "rewards.html", points=points, policy=policy)


@router.get("/agent/rewards")
def rewards_ledger(request: Request) -> Response:
    visitor = staff(request)
    now = utc_now()
    with reading(request) as session:
        rows = [
            (row, reward_actions.effective_status(row, now).value)
            for row in visible_reward_grants(session, visitor.actor)
        ]
        policy = reward_actions.active_policy(session, visitor.actor.organization_id)
    return render(request, visitor, "agent_rewards.html", rows=rows, policy=policy)
