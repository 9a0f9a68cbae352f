"""Built-in plugin ``sms_notify``: SMS through Alibaba Cloud SendSms, or a file spool."""
