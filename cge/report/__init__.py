"""PDF report comparing solved counterfactuals (Typst + matplotlib): :func:`write_report`."""

from cge.report.build import is_benchmark, money_unit, pdf_page_count, write_report
from cge.report.fmt import MoneyUnit, choose_money_unit, pct, signed

__all__ = ["MoneyUnit", "choose_money_unit", "is_benchmark", "money_unit", "pdf_page_count",
           "pct", "signed", "write_report"]
