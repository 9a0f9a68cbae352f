"""Built-in plugin ``vendor_rma``: the vendor RMA channels contracts can name."""
