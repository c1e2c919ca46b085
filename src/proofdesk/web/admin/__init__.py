"""The admin pages (``/admin``, admins only): the overview, SLA policies, service contracts."""
