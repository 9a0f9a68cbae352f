#!/usr/bin/env bash
# What the customer PDF needs from the system (docs/reports.md): pango (WeasyPrint lays text out
# with it) and CJK fonts (fonts-noto-cjk) so that Chinese names and titles render; pdftotext
# (poppler-utils) lets the tests read the PDF back (they fall back to pypdf without it).
# Installed from Debian's packages when missing, like scripts/services.sh does PostgreSQL.
set -euo pipefail

have_cjk() { fc-list :lang=zh 2>/dev/null | grep -q .; }
have_pango() { ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so'; }

missing=()
have_pango || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v fc-list >/dev/null && have_cjk || missing+=(fontconfig fonts-noto-cjk)
command -v pdftotext >/dev/null || missing+=(poppler-utils)

if [ ${#missing[@]} -gt 0 ]; then
  echo "report_fonts: installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fc-cache -f >/dev/null 2>&1 || true
fi
have_cjk || { echo "report_fonts: no font for Chinese after the install (fc-list :lang=zh)" >&2; exit 1; }
echo "report_fonts: pango and CJK fonts ready ($(fc-list :lang=zh family | head -n 1))"
