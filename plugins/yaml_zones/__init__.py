"""Built-in plugin ``yaml_zones``: resolver ``districts``, zones from a YAML districts file."""
