"""What a report says, as opposed to what was pasted into it."""

from knowledge.reports.gist import gist, is_machine_line, readings

__all__ = ["gist", "is_machine_line", "readings"]
