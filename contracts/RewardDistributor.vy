# pragma version ~=0.4.3
"""
@title RewardDistributor
@notice Pays ProofDesk reward epochs in RewardToken: the owner publishes each epoch's Merkle
        root of (index, account, amount) leaves, and anyone claims a leaf for its account with
        a proof, exactly once.
@dev The tree follows the Uniswap merkle-distributor / OpenZeppelin MerkleProof convention: a
     leaf is keccak256(abi.encode(index, account, amount)), a parent is the keccak256 of its two
     children in ascending order (sorted pairs). Epochs are numbered 0, 1, 2… and published in
     order; each has its own root and its own claimed bitmap. A root is only accepted when the
     contract holds enough tokens for every unclaimed amount of every live epoch, so a claim of
     a published leaf cannot fail for lack of funds. An expired epoch accepts no more claims,
     and its unclaimed amount is free again (a policy that rolls unclaimed amounts over puts
     them in the next epoch's tree).
"""

from ethereum.ercs import IERC20

event EpochPublished:
    epoch: indexed(uint256)
    root: bytes32
    total: uint256

event Claimed:
    epoch: indexed(uint256)
    index: uint256
    account: indexed(address)
    amount: uint256

event EpochExpired:
    epoch: indexed(uint256)
    unclaimed: uint256

event OwnerTransferred:
    previous: indexed(address)
    owner: indexed(address)

MAX_PROOF: constant(uint256) = 64

# @notice The token paid out.
token: public(immutable(IERC20))
# @notice The account that publishes roots, expires epochs and withdraws the surplus.
owner: public(address)
# @notice How many epochs were published (the next epoch's number).
epochs: public(uint256)
# @notice Each epoch's Merkle root.
roots: public(HashMap[uint256, bytes32])
# @notice Each epoch's total of leaf amounts.
totals: public(HashMap[uint256, uint256])
# @notice What was claimed of each epoch so far.
claimed_total: public(HashMap[uint256, uint256])
# @notice Epochs that accept no more claims.
expired: public(HashMap[uint256, bool])
# @notice Tokens owed to unclaimed leaves of live epochs.
reserved: public(uint256)
# epoch -> word -> 256 claimed bits
claimed_words: HashMap[uint256, HashMap[uint256, uint256]]


@deploy
def __init__(token_: address):
    """
    @notice Create a distributor of `token_`; the deployer is the owner.
    @param token_ The RewardToken (any ERC-20) that claims pay.
    """
    assert token_ != empty(address), "zero address"
    token = IERC20(token_)
    self.owner = msg.sender
    log OwnerTransferred(previous=empty(address), owner=msg.sender)


@view
@external
def is_claimed(epoch: uint256, index: uint256) -> bool:
    """
    @notice Whether leaf `index` of `epoch` was claimed.
    """
    word: uint256 = self.claimed_words[epoch][index // 256]
    return (word >> (index % 256)) & 1 == 1


@view
@internal
def _verify(root: bytes32, leaf: bytes32, proof: DynArray[bytes32, MAX_PROOF]) -> bool:
    node: bytes32 = leaf
    for sibling: bytes32 in proof:
        if convert(node, uint256) <= convert(sibling, uint256):
            node = keccak256(concat(node, sibling))
        else:
            node = keccak256(concat(sibling, node))
    return node == root


@view
@external
def verify(
    epoch: uint256, index: uint256, account: address, amount: uint256,
    proof: DynArray[bytes32, MAX_PROOF]
) -> bool:
    """
    @notice Whether (index, account, amount) is a leaf of `epoch`'s tree by `proof`.
    """
    leaf: bytes32 = keccak256(abi_encode(index, account, amount))
    return self._verify(self.roots[epoch], leaf, proof)


@external
def publish(epoch: uint256, root: bytes32, total: uint256):
    """
    @notice Publish the root of `epoch` (the next number) whose leaves add up to `total`.
    @dev Refused unless the contract's balance covers `total` on top of what is reserved.
    """
    assert msg.sender == self.owner, "not the owner"
    assert epoch == self.epochs, "epoch out of order"
    assert root != empty(bytes32), "empty root"
    assert total > 0, "empty epoch"
    reserved: uint256 = self.reserved + total
    assert staticcall token.balanceOf(self) >= reserved, "not funded"
    self.reserved = reserved
    self.roots[epoch] = root
    self.totals[epoch] = total
    self.epochs = epoch + 1
    log EpochPublished(epoch=epoch, root=root, total=total)


@external
def claim(
    epoch: uint256, index: uint256, account: address, amount: uint256,
    proof: DynArray[bytes32, MAX_PROOF]
):
    """
    @notice Pay leaf (index, account, amount) of `epoch` to `account`; anyone may send it.
    """
    assert epoch < self.epochs, "unknown epoch"
    assert not self.expired[epoch], "epoch expired"
    word_index: uint256 = index // 256
    bit: uint256 = 1 << (index % 256)
    word: uint256 = self.claimed_words[epoch][word_index]
    assert word & bit == 0, "already claimed"
    leaf: bytes32 = keccak256(abi_encode(index, account, amount))
    assert self._verify(self.roots[epoch], leaf, proof), "invalid proof"
    claimed: uint256 = self.claimed_total[epoch] + amount
    assert claimed <= self.totals[epoch], "over the epoch total"
    self.claimed_words[epoch][word_index] = word | bit
    self.claimed_total[epoch] = claimed
    self.reserved -= amount
    assert extcall token.transfer(account, amount), "transfer failed"
    log Claimed(epoch=epoch, index=index, account=account, amount=amount)


@external
def expire(epoch: uint256):
    """
    @notice Close `epoch` to claims; its unclaimed amount is no longer reserved.
    """
    assert msg.sender == self.owner, "not the owner"
    assert epoch < self.epochs, "unknown epoch"
    assert not self.expired[epoch], "epoch expired"
    unclaimed: uint256 = self.totals[epoch] - self.claimed_total[epoch]
    self.expired[epoch] = True
    self.reserved -= unclaimed
    log EpochExpired(epoch=epoch, unclaimed=unclaimed)


@external
def withdraw(receiver: address, amount: uint256):
    """
    @notice Send tokens that no live epoch needs back to `receiver`.
    """
    assert msg.sender == self.owner, "not the owner"
    assert receiver != empty(address), "zero address"
    balance: uint256 = staticcall token.balanceOf(self)
    assert balance >= self.reserved + amount, "reserved for claims"
    assert extcall token.transfer(receiver, amount), "transfer failed"


@external
def transfer_owner(new_owner: address):
    """
    @notice Hand the owner role to another account.
    """
    assert msg.sender == self.owner, "not the owner"
    assert new_owner != empty(address), "zero address"
    log OwnerTransferred(previous=self.owner, owner=new_owner)
    self.owner = new_owner
