"""Built-in plugin ``sms_notify``: SMS alerts for overdue cases (not implemented yet)."""
