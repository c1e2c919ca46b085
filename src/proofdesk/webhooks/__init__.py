"""Outbound webhooks, as the Standard Webhooks specification describes them: signing
(:mod:`.signing`), the deployment's Ed25519 key (:mod:`.keys`), which addresses may be called
(:mod:`.addresses`) and one HTTP attempt (:mod:`.sender`). The outbox is filled by
``store.webhook_outbox``, endpoints are written by ``actions.webhooks`` and the worker that
sends is ``workers.webhooks`` (``docs/webhooks.md``)."""
