# pragma version ~=0.4.3
"""
@title CheckpointAnchor
@notice Timestamps the signed checkpoints of ProofDesk transparency logs on chain.
@dev One anchor is one `(origin, size, root)` triple: the log's origin line, the number of
     leaves and the RFC 9162 root hash of the tree of that size. The contract stores only the
     last anchored size per log (what it needs to refuse going backwards); the history lives
     in the `Anchored` events, indexed by the log's origin hash and by the root, so a verifier
     finds the anchor of a checkpoint with one `eth_getLogs` query.
@custom:security Only addresses the owner authorised as writers can anchor.
"""

event Anchored:
    log_id: indexed(bytes32)
    root: indexed(bytes32)
    size: uint256
    origin: String[128]

event WriterChanged:
    writer: indexed(address)
    allowed: bool

event OwnershipTransferred:
    previous: indexed(address)
    owner: indexed(address)


# @notice The account that authorises writers.
owner: public(address)

# @notice Accounts allowed to anchor.
writers: public(HashMap[address, bool])

# @notice The last anchored size of each log, by `keccak256(origin)`.
last_size: public(HashMap[bytes32, uint256])


@deploy
def __init__():
    """
    @notice The deployer becomes the owner and the first writer.
    """
    self.owner = msg.sender
    self.writers[msg.sender] = True
    log OwnershipTransferred(previous=empty(address), owner=msg.sender)
    log WriterChanged(writer=msg.sender, allowed=True)


@external
def anchor(origin: String[128], size: uint256, root: bytes32):
    """
    @notice Record that the log named `origin` had `size` leaves with root hash `root`.
    @dev Reverts unless the caller is a writer, the origin is not empty, and `size` is larger
         than the last size anchored for this origin (which also refuses a duplicate).
    @param origin The log's origin line, exactly as in its signed checkpoints.
    @param size The tree size of the checkpoint.
    @param root The RFC 9162 root hash of the tree of that size.
    """
    assert self.writers[msg.sender], "not a writer"
    assert len(origin) > 0, "empty origin"
    log_id: bytes32 = keccak256(origin)
    assert size > self.last_size[log_id], "size not above last anchor"
    self.last_size[log_id] = size
    log Anchored(log_id=log_id, root=root, size=size, origin=origin)


@external
def set_writer(writer: address, allowed: bool):
    """
    @notice Allow or forbid an account to anchor.
    @param writer The account.
    @param allowed True to allow, False to revoke.
    """
    assert msg.sender == self.owner, "not the owner"
    assert writer != empty(address), "zero address"
    self.writers[writer] = allowed
    log WriterChanged(writer=writer, allowed=allowed)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the right to authorise writers to another account.
    @param new_owner The new owner; not the zero address.
    """
    assert msg.sender == self.owner, "not the owner"
    assert new_owner != empty(address), "zero address"
    log OwnershipTransferred(previous=self.owner, owner=new_owner)
    self.owner = new_owner
