# pragma version ~=0.4.3
"""
@title NaiveEventLog
@notice The design anchoring replaces, for comparison only: one transaction per ticket event,
        storing the event's hash.
"""

event Recorded:
    event_hash: indexed(bytes32)

recorded: public(HashMap[bytes32, bool])


@external
def record(event_hash: bytes32):
    """
    @notice Store one event hash (refusing a repeat) and emit it.
    """
    assert not self.recorded[event_hash], "already recorded"
    self.recorded[event_hash] = True
    log Recorded(event_hash=event_hash)
