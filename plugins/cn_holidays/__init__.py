"""Built-in plugin ``cn_holidays``: China's statutory holidays and make-up workdays (调休)."""
