"""Onboarding every row of a CSV at the account's rate limit, with one line of result per row.

No Prefect here: ``flows/bulk_onboard.py`` runs a :class:`BulkRun` as a flow; tests and scripts run it
directly (:func:`run_bulk_async`). A run goes:

1. **Check** the file as a whole (header, encoding, every record's cells, at least one row) with a quick
   pass of the standard library's reader: a file unusable as a whole stops here, before anything is sent.
2. **Snapshot**: what already exists under our reference prefix
   (:class:`~telnyx_compliance.onboarding.known.KnownResources`), read once; every row consults it instead
   of looking its resources up.
3. **Run**, in one streaming pass: rows are read and validated in batches (in a thread, so the event loop
   keeps pacing requests); an invalid row, or one an earlier run completed, gets its line at once; the
   others enter as concurrency slots free up. A market's requirements are looked up when its first row
   comes, once; the phone numbers of the rows about to enter are looked up 20 per call. A row holds a slot
   only while it is submitted (:func:`~.runner.submit_onboarding`: requirements, plan, address, documents,
   group, submit); it waits for Telnyx's review holding none (one :class:`~.approvals.ApprovalWatcher`
   polls for the whole run), then is finished (:func:`~.runner.finish_onboarding`: its numbers ordered
   carrying the group, the group attached to the orders given by id) and its line written. Rows of one
   onboarding (same customer, country, number type and action) are submitted one after the other: the
   first creates the address, documents and group, the next ones reuse them and add their own orders.
4. **Deadline**: once every row is submitted the watcher waits ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` more;
   the groups still pending then are finished together as ``pending_approval``: their orders are placed
   carrying the group and every order is wired to it, so reconcile only has to report the decision.

* **Concurrency follows Little's law**: rows in submission = the rate the server allows x the lowest
  recent round trip x a headroom, between 8 and 256; 16 while no rate is known
  (``telnyx_compliance._concurrency``), unless ``max_concurrency`` fixes it.
* **Memory follows concurrency**, not rows: rows are streamed and results written as rows finish.
* **Results** are appended as rows finish and synced to disk at least every half second: a crash loses at
  most that much, and a rerun finds what those rows created.
* **Transient failures**: a row that failed on a transient API error its requests' retries did not outlast
  (429, 408, 5xx, connection; not a write whose outcome stayed unknown) runs that stage again, at most
  :data:`TRANSIENT_RETRIES` times: every step finds what the earlier attempt created.
* **Reruns**: a row whose previous line in the results CSV is ``completed`` (recognised by the hash of its
  cells, so inserted rows do not confuse it) is not run again; its line is carried over. ``only_failed``
  runs just the rows a given results CSV marks ``failed``.
* **Error kinds**: every line that did not complete says what kind of failure it was
  (:class:`~telnyx_compliance.onboarding.errors.ErrorKind`, the ``error_kind`` column), decided where the
  failure was caught; the row's status, the counts and the report read it.

The modules, by concern: :mod:`.lifecycle` (a whole run, and the hand-off of a run a caller started),
:mod:`.runner` (rows through the pipeline), :mod:`.selection` (which rows run), :mod:`.lines` (one results
line per row), :mod:`.summary` (what the run did), :mod:`.progress` (where the rows stand, by phase, while
it runs).
"""

from __future__ import annotations

from telnyx_compliance.onboarding.bulk.lifecycle import (
    BulkRun,
    default_results_path,
    handed_over,
    handing_over,
    run_bulk_async,
)
from telnyx_compliance.onboarding.bulk.lines import invalid_row, result_row, row_status
from telnyx_compliance.onboarding.bulk.progress import BulkProgress, ProgressSnapshot
from telnyx_compliance.onboarding.bulk.runner import (
    LOOKAHEAD_ROWS,
    TRANSIENT_PAUSE,
    TRANSIENT_RETRIES,
    BulkRunner,
    OnRow,
)
from telnyx_compliance.onboarding.bulk.selection import RowAction, Selection, classify
from telnyx_compliance.onboarding.bulk.summary import BulkSummary, error_category

__all__ = [
    "LOOKAHEAD_ROWS",
    "TRANSIENT_PAUSE",
    "TRANSIENT_RETRIES",
    "BulkProgress",
    "BulkRun",
    "BulkRunner",
    "BulkSummary",
    "OnRow",
    "ProgressSnapshot",
    "RowAction",
    "Selection",
    "classify",
    "default_results_path",
    "error_category",
    "handed_over",
    "handing_over",
    "invalid_row",
    "result_row",
    "row_status",
    "run_bulk_async",
]
