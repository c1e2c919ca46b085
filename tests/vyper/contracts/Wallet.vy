# pragma version ~=0.4.3
"""
@title Wallet
@notice Test double: a smart-contract wallet whose receive hook needs more than 2,300 gas.
"""

received: public(uint256)
payments: public(uint256)


@payable
@external
def __default__():
    self.received += msg.value
    self.payments += 1
