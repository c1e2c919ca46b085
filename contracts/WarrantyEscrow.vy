# pragma version ~=0.4.3
"""
@title WarrantyEscrow
@notice Holds merchants' bonds in the chain's native currency and pays customers' refund and
        warranty claims from them, each claim exactly once.
@dev Money moves in three ways:
     - the decider (the ProofDesk deployment's key) pays a claim it judged valid, up to what the
       merchant's bond has free (plus the claim's own commitment, if the merchant agreed to it);
     - a merchant agrees to a claim, which commits that amount of its bond to the customer; if
       the merchant neither pays nor is paid for within the agreed timeout, the customer takes
       the amount with `claim_after_timeout`;
     - a merchant withdraws what is not committed to open claims.
     Every function that sends value is `@nonreentrant`, updates state before the transfer and
     forwards all gas (a smart-contract wallet may need more than a 2,300 stipend).
     Claim ids are chosen off chain (a hash of the deployment, ticket and claim); a paid id can
     never be paid again.
"""

event Deposited:
    merchant: indexed(address)
    amount: uint256
    bond: uint256

event Withdrawn:
    merchant: indexed(address)
    amount: uint256
    bond: uint256

event Agreed:
    claim_id: indexed(bytes32)
    merchant: indexed(address)
    customer: indexed(address)
    amount: uint256
    deadline: uint256

event Paid:
    claim_id: indexed(bytes32)
    merchant: indexed(address)
    customer: indexed(address)
    amount: uint256
    by: address

event DeciderChanged:
    previous: indexed(address)
    decider: indexed(address)

event OwnershipTransferred:
    previous: indexed(address)
    owner: indexed(address)


flag Status:
    OPEN
    PAID

struct Claim:
    merchant: address
    customer: address
    amount: uint256
    deadline: uint256
    status: Status

# @notice Longest timeout a merchant may agree to (one year).
MAX_TIMEOUT: constant(uint256) = 365 * 86400

# @notice Deposited and not yet paid out or withdrawn, per merchant.
bond: public(HashMap[address, uint256])
# @notice Part of the bond promised to open (agreed, unpaid) claims, per merchant.
committed: public(HashMap[address, uint256])
# @notice Claims by id.
claims: public(HashMap[bytes32, Claim])
# @notice The key allowed to pay claims on its own judgement.
decider: public(address)
# @notice The account that may replace the decider.
owner: public(address)


@deploy
def __init__(decider_: address):
    """
    @param decider_ The account that pays claims ProofDesk judged valid.
    """
    assert decider_ != empty(address), "zero address"
    self.owner = msg.sender
    self.decider = decider_
    log OwnershipTransferred(previous=empty(address), owner=msg.sender)
    log DeciderChanged(previous=empty(address), decider=decider_)


@view
@external
def available(merchant: address) -> uint256:
    """
    @notice What the merchant's bond has free: not committed to open claims.
    """
    return self.bond[merchant] - self.committed[merchant]


@payable
@external
def deposit():
    """
    @notice Add the sent value to the caller's bond.
    """
    assert msg.value > 0, "nothing deposited"
    self.bond[msg.sender] += msg.value
    log Deposited(merchant=msg.sender, amount=msg.value, bond=self.bond[msg.sender])


@nonreentrant
@external
def withdraw(amount: uint256):
    """
    @notice Take back part of the caller's bond that no open claim is counting on.
    """
    assert amount > 0, "nothing to withdraw"
    assert amount <= self.bond[msg.sender] - self.committed[msg.sender], "bond committed"
    self.bond[msg.sender] -= amount
    log Withdrawn(merchant=msg.sender, amount=amount, bond=self.bond[msg.sender])
    raw_call(msg.sender, b"", value=amount)


@external
def agree(claim_id: bytes32, customer: address, amount: uint256, timeout: uint256):
    """
    @notice The caller (a merchant) promises `amount` of its bond to `customer` for the claim.
    @dev If the claim is not paid within `timeout` seconds the customer can take the amount.
    """
    assert self.claims[claim_id].status == empty(Status), "claim exists"
    assert customer != empty(address), "zero address"
    assert customer != msg.sender, "customer is merchant"
    assert amount > 0, "zero amount"
    assert timeout <= MAX_TIMEOUT, "timeout too long"
    assert amount <= self.bond[msg.sender] - self.committed[msg.sender], "bond too small"
    self.committed[msg.sender] += amount
    deadline: uint256 = block.timestamp + timeout
    self.claims[claim_id] = Claim(
        merchant=msg.sender, customer=customer, amount=amount, deadline=deadline, status=Status.OPEN
    )
    log Agreed(claim_id=claim_id, merchant=msg.sender, customer=customer, amount=amount, deadline=deadline)


@internal
def _settle(claim_id: bytes32, merchant: address, customer: address, amount: uint256):
    self.bond[merchant] -= amount
    self.claims[claim_id] = Claim(
        merchant=merchant, customer=customer, amount=amount, deadline=0, status=Status.PAID
    )
    log Paid(claim_id=claim_id, merchant=merchant, customer=customer, amount=amount, by=msg.sender)
    raw_call(customer, b"", value=amount)


@nonreentrant
@external
def pay(claim_id: bytes32, merchant: address, customer: address, amount: uint256):
    """
    @notice The decider pays `amount` of `merchant`'s bond to `customer` for the claim.
    @dev For a claim the merchant agreed to, the customer and merchant must match and the
         amount may not exceed what was agreed; its commitment is released.
    """
    assert msg.sender == self.decider, "not the decider"
    assert customer != empty(address), "zero address"
    assert amount > 0, "zero amount"
    claim: Claim = self.claims[claim_id]
    assert claim.status != Status.PAID, "claim already paid"
    free: uint256 = self.bond[merchant] - self.committed[merchant]
    if claim.status == Status.OPEN:
        assert claim.merchant == merchant and claim.customer == customer, "claim parties differ"
        assert amount <= claim.amount, "above agreed amount"
        self.committed[merchant] -= claim.amount
        free += claim.amount
    assert amount <= free, "bond too small"
    self._settle(claim_id, merchant, customer, amount)


@nonreentrant
@external
def merchant_pay(claim_id: bytes32):
    """
    @notice The merchant pays a claim it agreed to.
    """
    claim: Claim = self.claims[claim_id]
    assert claim.status == Status.OPEN, "claim not open"
    assert msg.sender == claim.merchant, "not the merchant"
    self.committed[claim.merchant] -= claim.amount
    self._settle(claim_id, claim.merchant, claim.customer, claim.amount)


@nonreentrant
@external
def claim_after_timeout(claim_id: bytes32):
    """
    @notice The customer takes an agreed amount the merchant left unpaid past the deadline.
    """
    claim: Claim = self.claims[claim_id]
    assert claim.status == Status.OPEN, "claim not open"
    assert msg.sender == claim.customer, "not the customer"
    assert block.timestamp >= claim.deadline, "deadline not reached"
    self.committed[claim.merchant] -= claim.amount
    self._settle(claim_id, claim.merchant, claim.customer, claim.amount)


@external
def set_decider(decider_: address):
    """
    @notice Replace the decider key (for example after rotating the deployment's key).
    """
    assert msg.sender == self.owner, "not the owner"
    assert decider_ != empty(address), "zero address"
    log DeciderChanged(previous=self.decider, decider=decider_)
    self.decider = decider_


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the right to replace the decider to another account.
    """
    assert msg.sender == self.owner, "not the owner"
    assert new_owner != empty(address), "zero address"
    log OwnershipTransferred(previous=self.owner, owner=new_owner)
    self.owner = new_owner
