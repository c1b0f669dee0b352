"""The one error type the domain raises, with its few subclasses; handlers turn them into pages or JSON."""

from __future__ import annotations

from dataclasses import dataclass


class MaicError(Exception):
    status = 400
    title = "Something is not right"

    def __init__(self, message: str, *, status: int | None = None, title: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title


class Forbidden(MaicError):
    status = 403
    title = "Not allowed"


class NotFound(MaicError):
    status = 404
    title = "Not found"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a file: where (row, column) and what. Row 1 is the header line."""

    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ValidationFailed(MaicError):
    status = 422
    title = "The return was refused"

    def __init__(self, issues: list[Issue], *, filename: str | None = None):
        self.issues = [i for i in issues if i.severity == "error"]
        self.filename = filename
        count = len(self.issues)
        head = f"{filename}: " if filename else ""
        super().__init__(f"{head}refused with {count} problem{'s' if count != 1 else ''}; nothing was written.")

    def report(self) -> str:
        return "\n".join([self.message, *(f"- {i}" for i in self.issues)])
