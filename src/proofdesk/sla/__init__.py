"""Service levels: business calendars and the timers measured in them."""
