# pragma version ~=0.4.3
"""
@title RewardToken
@notice An ERC-20 token that ProofDesk deployments mint to customers for useful feedback.
@dev Standard ERC-20 (EIP-20): 18 decimals, `transfer`, `approve`, `transferFrom` and the
     `Transfer` / `Approval` events; a mint is a `Transfer` from the zero address. Minting is
     limited to accounts the admin authorised, and the total minted in each period of
     `period_seconds` may not exceed `period_cap`, so a leaked minter key can only mint
     so much. Transfers to the zero address and approvals of the zero address are refused.
     An allowance of `max_value(uint256)` is treated as unlimited and is not spent.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event MinterChanged:
    minter: indexed(address)
    allowed: bool

event MintCapChanged:
    period_cap: uint256
    period_seconds: uint256

event AdminTransferred:
    previous: indexed(address)
    admin: indexed(address)


name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @notice The account that authorises minters and sets the mint cap.
admin: public(address)
# @notice Accounts allowed to mint.
minters: public(HashMap[address, bool])
# @notice Most tokens (in base units) that may be minted in one period.
period_cap: public(uint256)
# @notice Length of a mint period in seconds.
period_seconds: public(uint256)
# @notice Start of the current mint period (a multiple of `period_seconds`).
period_start: public(uint256)
# @notice Tokens minted so far in the current period.
minted_in_period: public(uint256)


@deploy
def __init__(name_: String[64], symbol_: String[32], period_cap_: uint256, period_seconds_: uint256):
    """
    @notice Create the token with no supply; the deployer is admin and first minter.
    @param name_ The token's name.
    @param symbol_ The token's symbol.
    @param period_cap_ Most base units mintable per period.
    @param period_seconds_ Length of a period in seconds; not zero.
    """
    assert period_seconds_ > 0, "zero period"
    self.name = name_
    self.symbol = symbol_
    self.decimals = 18
    self.admin = msg.sender
    self.minters[msg.sender] = True
    self.period_cap = period_cap_
    self.period_seconds = period_seconds_
    log AdminTransferred(previous=empty(address), admin=msg.sender)
    log MinterChanged(minter=msg.sender, allowed=True)
    log MintCapChanged(period_cap=period_cap_, period_seconds=period_seconds_)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to zero address"
    balance: uint256 = self.balanceOf[sender]
    assert balance >= amount, "insufficient balance"
    self.balanceOf[sender] = balance - amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    """
    @notice Move `amount` base units from the caller to `receiver`.
    """
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Move `amount` from `sender` to `receiver`, spending the caller's allowance.
    """
    allowed: uint256 = self.allowance[sender][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "insufficient allowance"
        self.allowance[sender][msg.sender] = allowed - amount
        log Approval(owner=sender, spender=msg.sender, value=allowed - amount)
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Let `spender` move up to `amount` of the caller's tokens (replaces the old value).
    """
    assert spender != empty(address), "approve to zero address"
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    """
    @notice Create `amount` new base units for `receiver`, within the period's cap.
    @dev Periods are aligned to multiples of `period_seconds`; the count restarts with each.
    """
    assert self.minters[msg.sender], "not a minter"
    assert receiver != empty(address), "mint to zero address"
    start: uint256 = block.timestamp - block.timestamp % self.period_seconds
    minted: uint256 = self.minted_in_period
    if start != self.period_start:
        self.period_start = start
        minted = 0
    assert minted + amount <= self.period_cap, "period mint cap exceeded"
    self.minted_in_period = minted + amount
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def set_minter(minter: address, allowed: bool):
    """
    @notice Allow or forbid an account to mint.
    """
    assert msg.sender == self.admin, "not the admin"
    assert minter != empty(address), "zero address"
    self.minters[minter] = allowed
    log MinterChanged(minter=minter, allowed=allowed)


@external
def set_mint_cap(period_cap_: uint256, period_seconds_: uint256):
    """
    @notice Change the mint cap. What was minted in the current period still counts unless
            the period length changes, which starts a new period.
    """
    assert msg.sender == self.admin, "not the admin"
    assert period_seconds_ > 0, "zero period"
    self.period_cap = period_cap_
    if period_seconds_ != self.period_seconds:
        self.period_seconds = period_seconds_
        self.period_start = block.timestamp - block.timestamp % period_seconds_
        self.minted_in_period = 0
    log MintCapChanged(period_cap=period_cap_, period_seconds=period_seconds_)


@external
def transfer_admin(new_admin: address):
    """
    @notice Hand the admin role to another account.
    """
    assert msg.sender == self.admin, "not the admin"
    assert new_admin != empty(address), "zero address"
    log AdminTransferred(previous=self.admin, admin=new_admin)
    self.admin = new_admin
