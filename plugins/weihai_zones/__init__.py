"""Built-in plugin ``weihai_zones``: which on-site response zone a Weihai site is in."""
