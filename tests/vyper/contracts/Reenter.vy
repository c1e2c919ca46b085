# pragma version ~=0.4.3
"""
@title Reenter
@notice Test double: a customer wallet that tries to re-enter WarrantyEscrow when paid.
"""

interface Escrow:
    def claim_after_timeout(claim_id: bytes32): nonpayable
    def withdraw(amount: uint256): nonpayable
    def deposit(): payable

escrow: public(Escrow)
claim_id: public(bytes32)
attacks: public(uint256)


@deploy
def __init__(escrow_: address):
    self.escrow = Escrow(escrow_)


@external
def claim(claim_id_: bytes32):
    self.claim_id = claim_id_
    extcall self.escrow.claim_after_timeout(claim_id_)


@payable
@external
def fund():
    extcall self.escrow.deposit(value=msg.value)


@external
def withdraw(amount: uint256):
    extcall self.escrow.withdraw(amount)


@payable
@external
def __default__():
    self.attacks += 1
    if self.claim_id != empty(bytes32):
        extcall self.escrow.claim_after_timeout(self.claim_id)
    else:
        extcall self.escrow.withdraw(msg.value)
