"""Rewards, pure: the published reward policy (``policy``), the anti-farming evaluation
(``engine``), vote damping (``votes``) and the epoch's Merkle tree (``merkle``).

Nothing here touches a database or a chain; ``actions/rewards.py`` stores what this decides,
and ``chain/rewards.py`` publishes an epoch's root through ``RewardDistributor``
([rewards.md](../../../docs/rewards.md)).
"""
