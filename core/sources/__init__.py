"""The files admins edit (contracts, tiers, holiday years, YAML) read into checked Structs."""
