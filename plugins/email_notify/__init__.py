"""Built-in plugin ``email_notify``: SLA alerts by e-mail over SMTP (channel ``email``)."""
