#!/usr/bin/env bash
# Receipt PDFs: renders a typical four-line receipt N times in each layout
# (A4, A5, 80 mm thermal) on one thread and prints the median time per PDF,
# PDFs per second and the size; also sign + open per receipt. E.g.
#   bench/receipt_pdf.sh 500
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p doorstep-receipt --bench receipt_pdf -- "$@"
