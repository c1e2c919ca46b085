"""The e-mail channel's machinery below the adapters: the SMTP transport, parsing mail that
comes in (bounded, every charset, quoted history stripped, loops and bounces recognised), the
signed reply addresses and the building of mail that goes out. The workers (IMAP polling, the
inbound SMTP endpoint, the outbox sender) and ``actions.mail_in``/``actions.mail_out`` stand on
it; it imports nothing above the pure core (``docs/channels.md``)."""
