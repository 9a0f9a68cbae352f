"""Reports to customers (R-QUAL, issue 15 §4): statistics per contract and period, aggregated in
SQL (core.store.report_sql), assembled here and rendered as JSON, CSV, HTML and PDF."""
