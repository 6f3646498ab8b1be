"""Domain errors: each carries a stable `code` the web layer maps to problem+json."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every refusal the domain can express; `code` is stable API."""

    code = "domain-error"
    status = 422

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class IllegalTransition(DomainError):
    code = "illegal-transition"
    status = 409


class NotFound(DomainError):
    code = "not-found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of a request form."""

    path: str
    code: str
    message: str


class InvalidRequest(DomainError):
    """The request form does not satisfy its schema; `problems` lists every field."""

    code = "invalid-request"
    status = 422

    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = "; ".join(f"{p.path}: {p.message}" for p in problems[:5])
        super().__init__(f"request form is invalid ({len(problems)} problem(s)): {summary}")
        self.problems = problems
