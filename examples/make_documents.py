"""Regenerate the example documents in ``examples/documents/`` (small, valid one-page PDFs).

    .venv/bin/python examples/make_documents.py

``hanse-proof-of-address.pdf`` carries the sandbox's deny marker, so the sandbox's review declines the
requirement group that uses it: ``make demo`` shows a declined row.
"""

from __future__ import annotations

from pathlib import Path

from telnyx_compliance.onboarding.fake import minimal_pdf

FOLDER = Path(__file__).resolve().parent / "documents"

#: The sandbox declines documents containing this marker (telnyx_compliance.sandbox.catalog.DENY_MARKER).
SANDBOX_DENY = "SANDBOX-DENY"

BILLS = {
    "acme-proof-of-address.pdf": (
        "Stadtwerke Berlin - Stromrechnung",
        [
            "Acme Telecom GmbH",
            "Friedrichstrasse 123, 10117 Berlin",
            "Rechnungsdatum: 02.10.2026",
            "Betrag: 184,20 EUR",
        ],
    ),
    "brightline-proof-of-address.pdf": (
        "Thames Water - Water bill",
        [
            "Brightline Media Ltd",
            "10 Downing Street, London SW1A 2AA",
            "Bill date: 28 Sep 2026",
            "Amount: GBP 96.40",
        ],
    ),
    "lumiere-proof-of-address.pdf": (
        "EDF - Facture d'electricite",
        [
            "Lumiere Conseil SAS",
            "10 Rue de Rivoli, 75001 Paris",
            "Date de facture: 30/09/2026",
            "Montant: 122,75 EUR",
        ],
    ),
    "nordlicht-proof-of-address.pdf": (
        "Hamburg Energie - Stromrechnung",
        [
            "Nordlicht Design GmbH",
            "Jungfernstieg 7, 20354 Hamburg",
            "Rechnungsdatum: 05.10.2026",
            "Betrag: 77,10 EUR",
        ],
    ),
    "hanse-proof-of-address.pdf": (
        "Stromrechnung (scan unreadable)",
        ["Hanse Logistik GmbH", "Am Sandtorkai 1, 20457 Hamburg", f"Review marker: {SANDBOX_DENY}"],
    ),
}


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, (title, lines) in BILLS.items():
        (FOLDER / name).write_bytes(minimal_pdf(lines, title=title))


if __name__ == "__main__":
    main()
