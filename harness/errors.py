"""One error hierarchy for the whole harness, and the one place that maps it to exit codes.

- ``InputError``: what the lab was given is wrong (a spec, a plan, an intake finding, a report
  number that does not exist). Exit 2, with one line per problem.
- ``LabError``: the lab could not do its work (a deploy that failed, a tool that crashed, a probe
  that timed out, a target outside the scope). Exit 3. Inside a check it makes the verdict "error",
  never "fail": a product failure is only ever an ``AssertionError``.

Messages are English for the console and the logs; ``zh`` optionally carries the Chinese sentence a
report shows for the same fault.

Exit codes (CI reads them): 0 everything checked conforms; 1 a product check failed (and only
that); 2 bad input; 3 a lab error, including anything unexpected; 130 interrupted. This module is
the only place that maps an ending to a code: exit_code_of for an exception that ended a command,
run_exit_code for how a run ended.
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_PASS = 0
EXIT_PRODUCT_FAIL = 1
EXIT_BAD_INPUT = 2
EXIT_LAB_ERROR = 3
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    exit_code: int = EXIT_LAB_ERROR

    def __init__(self, *args: object, zh: str | None = None) -> None:
        super().__init__(*args)
        self.zh = zh

    def lines(self) -> list[str]:
        """What the console shows: one line per problem."""
        return str(self).splitlines() or [type(self).__name__]


class InputError(HarnessError):
    exit_code = EXIT_BAD_INPUT


class LabError(HarnessError):
    exit_code = EXIT_LAB_ERROR


def exit_code_of(exc: BaseException) -> int:
    """The process exit code for an exception that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, HarnessError):
        return exc.exit_code
    return EXIT_LAB_ERROR  # anything unexpected is the lab's fault, never "a product check failed"


def run_exit_code(
    *, interrupted: bool, bad_input: bool, aborted: bool, counts: Mapping[str, int], nothing_planned: bool = False
) -> int:
    """The exit code of a run, from how it ended and the verdicts it recorded."""
    if interrupted:
        return EXIT_INTERRUPTED
    if bad_input:
        return EXIT_BAD_INPUT
    if aborted:
        return EXIT_LAB_ERROR  # partial: whatever it recorded, it did not check everything
    if nothing_planned:
        return EXIT_PASS  # a retest whose changes touch no clause runs nothing, rightly
    if counts.get("error") or not counts:
        return EXIT_LAB_ERROR
    if counts.get("fail"):
        return EXIT_PRODUCT_FAIL
    return EXIT_PASS
