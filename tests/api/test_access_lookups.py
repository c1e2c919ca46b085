"""The organization-scoped lookups in access.py: another tenant's row is not found, like none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from proofdesk.access import (
    access_contract,
    access_customer,
    access_macro,
    access_payout,
    access_sla_policy,
    access_team,
)
from proofdesk.errors import Forbidden, InvalidInput, NotFound
from proofdesk.store.db import Database
from proofdesk.store.models import User
from tests.support.tenants import Tenant, actor_of


def test_a_team_is_found_in_its_own_organization_only(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    with db.reader() as session:
        assert access_team(session, actor_of(tenant.agent, tenant), tenant.team_id).id == (
            tenant.team_id
        )
        with pytest.raises(NotFound, match="no such team"):
            access_team(session, actor_of(other_tenant.agent, other_tenant), tenant.team_id)
        with pytest.raises(Forbidden):
            access_team(session, actor_of(tenant.customer, tenant), tenant.team_id)


def test_a_customer_reaches_only_themselves_and_staff_only_customers(
    db: Database, tenant: Tenant
) -> None:
    with db.reader() as session:
        customer = session.get(User, tenant.customer.user_id)
        agent = session.get(User, tenant.agent.user_id)
        assert customer is not None and agent is not None
        assert access_customer(actor_of(tenant.agent, tenant), customer) is customer
        assert access_customer(actor_of(tenant.customer, tenant), customer) is customer
        with pytest.raises(NotFound, match="no such user"):
            access_customer(actor_of(tenant.customer2, tenant), customer)
        with pytest.raises(InvalidInput, match="belong to customers"):
            access_customer(actor_of(tenant.admin, tenant), agent)


Lookup = Callable[[Any, Any, str], Any]


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (access_sla_policy, "no such policy"),
        (access_macro, "no such macro"),
        (access_payout, "no such payout"),
    ],
)
@pytest.mark.parametrize("text_id", ["0", "999999999", "abc", "1e3", "99999999999999999999999"])
def test_a_numbered_row_that_is_not_there_is_not_found(
    db: Database, tenant: Tenant, lookup: Lookup, message: str, text_id: str
) -> None:
    with db.reader() as session, pytest.raises(NotFound, match=message):
        lookup(session, actor_of(tenant.admin, tenant), text_id)


def test_a_contract_of_another_organization_is_not_found(db: Database, tenant: Tenant) -> None:
    with db.reader() as session, pytest.raises(NotFound, match="no such contract"):
        access_contract(session, tenant.org_id, "0" * 64)
