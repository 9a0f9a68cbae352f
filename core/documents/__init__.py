"""The documents the handbook promises (R-MAINT 维护支持体系文档), generated from the record:
the maintenance plan, stage and periodic service summaries, implementation reports and
proposals, assessment reports with preventive advice, maintenance manual templates
(docs/documents.md). Each module builds one document Struct; ``render`` turns any of them into
JSON, HTML or (through core.reports.render) PDF."""
