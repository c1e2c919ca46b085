"""Every state change lives here, as ``do_*`` functions (and their ``check_*`` helpers).

Each ``do_*`` runs inside ``Database.writer()`` and writes its ticket events in that same
transaction, so a change and its event are committed together or not at all.
"""
