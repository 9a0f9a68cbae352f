"""Where the report's satisfaction and complaint section comes from.

The quality module (surveys, complaints, the quarterly promise; issue 15 §1–3) delivers a
``SatisfactionProvider``; until it is wired here, every report says the section is not
available yet. Wiring it is one assignment: ``PROVIDER = quality.report_section``.
"""

from __future__ import annotations

from core.reports.model import SatisfactionProvider, no_satisfaction

PROVIDER: SatisfactionProvider = no_satisfaction
