"""SMS notifier plugin: deliberately empty until the escalation issue brings the real gateway.

The handbook (R-CASE) wants overdue warnings by e-mail *and* SMS. The sender will implement
``register_notifiers(register)`` with ``register("sms", sender)``, where the sender only
enqueues a dramatiq message and an actor speaks the gateway's documented HTTP API (with its
request signing), plus a local spool for the embedded setup. Until then this module registers
nothing: no stub pretends to send. Escalation ladders may already name the ``sms`` channel
(``core.contract_load.BUILTIN_NOTIFIER_CHANNELS`` reserves ``email`` and ``sms``) because
nothing sends alerts yet; once notifiers exist, a channel no plugin registers is an error.
"""
