# pragma version ~=0.4.3
"""
@title SmartWallet
@notice Test double: a contract wallet that accepts its owner's signatures (EIP-1271).
"""

owner: public(address)


@deploy
def __init__(owner_: address):
    self.owner = owner_


@view
@external
def isValidSignature(digest: bytes32, signature: Bytes[65]) -> bytes4:
    """
    @notice 0x1626ba7e when the owner signed ``digest``.
    """
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if ecrecover(digest, v, r, s) == self.owner:
        return 0x1626ba7e
    return 0xffffffff
