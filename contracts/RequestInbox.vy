# pragma version ~=0.4.3
"""
@title RequestInbox
@notice Lets a customer file a support request from their wallet, so that the request's time
        is proven by the chain rather than by the company that receives it.
@dev The contract stores nothing but a per-sender count: a filing is one `Filed` event that
     names the organization (the keccak256 of its ProofDesk id), commits to the request's
     content (the EIP-712 `contentHash` ProofDesk computes for a new request: keccak256 of the
     RFC 8785 JSON of kind, subject and body) and may carry an opaque pointer (for instance an
     encrypted locator of the content). The content itself never goes on chain.
@custom:security Anyone may file. The receiving desk opens a ticket only when the sender is a
                 verified wallet of the customer who prepared that content, so copying
                 someone's commitment from the mempool gains nothing.
"""

event Filed:
    organization: indexed(bytes32)
    sender: indexed(address)
    commitment: bytes32
    pointer: Bytes[256]
    number: uint256

event Paused:
    paused: bool

event OwnershipTransferred:
    previous: indexed(address)
    owner: indexed(address)


# @notice The account that may pause filing (for instance while an organization moves).
owner: public(address)

# @notice True while filing is refused.
paused: public(bool)

# @notice How many requests each sender has filed; the `number` of its next filing.
filed: public(HashMap[address, uint256])


@deploy
def __init__():
    """
    @notice The deployer becomes the owner.
    """
    self.owner = msg.sender
    log OwnershipTransferred(previous=empty(address), owner=msg.sender)


@external
def file(organization: bytes32, commitment: bytes32, pointer: Bytes[256]) -> uint256:
    """
    @notice File a request with the organization `organization`.
    @dev Reverts while paused, for an empty organization or an empty commitment.
    @param organization keccak256 of the organization's ProofDesk id.
    @param commitment The EIP-712 content hash of the request.
    @param pointer Optional opaque bytes (at most 256), empty when unused.
    @return The sender's filing number (0 for the first).
    """
    assert not self.paused, "paused"
    assert organization != empty(bytes32), "empty organization"
    assert commitment != empty(bytes32), "empty commitment"
    number: uint256 = self.filed[msg.sender]
    self.filed[msg.sender] = number + 1
    log Filed(
        organization=organization,
        sender=msg.sender,
        commitment=commitment,
        pointer=pointer,
        number=number,
    )
    return number


@external
def set_paused(paused: bool):
    """
    @notice Refuse (True) or accept again (False) new filings.
    """
    assert msg.sender == self.owner, "not the owner"
    self.paused = paused
    log Paused(paused=paused)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the right to pause to another account.
    @param new_owner The new owner; not the zero address.
    """
    assert msg.sender == self.owner, "not the owner"
    assert new_owner != empty(address), "zero address"
    log OwnershipTransferred(previous=self.owner, owner=new_owner)
    self.owner = new_owner
