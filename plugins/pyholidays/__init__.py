"""Built-in plugin ``pyholidays``: public holidays of HK, MO and TW from python-holidays."""
