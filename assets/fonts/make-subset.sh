#!/usr/bin/env bash
# Regenerates NotoSansSC-Doorstep-GBK.otf: Noto Sans CJK SC Regular cut down
# to every character of GBK (two-byte codes) plus ASCII, Latin-1, general
# punctuation, CJK punctuation, full-width forms, letterlike symbols,
# enclosed numbers and geometric shapes. No OpenType layout features, no
# hinting; the outlines stay CFF (CID-keyed).
#
# Source: Debian's fonts-noto-cjk, face 2 ("Noto Sans CJK SC") of
# /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc (version 2.004).
# Needs python3 with fonttools (`pip install fonttools`).
#
#   bash assets/fonts/make-subset.sh [path/to/NotoSansCJK-Regular.ttc]
set -euo pipefail
# A fixed head.modified so that the output is byte-for-byte reproducible
# (fontTools takes the timestamp from SOURCE_DATE_EPOCH).
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1617235200}"
here="$(cd "$(dirname "$0")" && pwd)"
ttc="${1:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$ttc" "$work" <<'PY'
import sys
from fontTools.ttLib import TTFont

ttc, work = sys.argv[1], sys.argv[2]
# Face 2 of the collection is the Simplified Chinese one.
face = TTFont(ttc, fontNumber=2)
assert face["name"].getDebugName(4) == "Noto Sans CJK SC", face["name"].getDebugName(4)
face.save(f"{work}/NotoSansCJKsc-Regular.otf")

# Every character that a two-byte GBK code decodes to (lead 0x81-0xFE,
# trail 0x40-0xFE except 0x7F), in code order.
chars = []
for lead in range(0x81, 0xFF):
    for trail in range(0x40, 0xFF):
        if trail == 0x7F:
            continue
        try:
            chars.append(bytes([lead, trail]).decode("gbk"))
        except UnicodeDecodeError:
            pass
with open(f"{work}/gbk.txt", "w", encoding="utf-8") as f:
    f.write("".join(chars))
PY

pyftsubset "$work/NotoSansCJKsc-Regular.otf" \
    --text-file="$work/gbk.txt" \
    --unicodes="U+0020-007E,U+00A0-00FF,U+2000-206F,U+3000-303F,U+FF00-FFEF,U+2100-214F,U+2460-24FF,U+25A0-25FF" \
    --layout-features='' \
    --no-hinting \
    --output-file="$here/NotoSansSC-Doorstep-GBK.otf"
ls -l "$here/NotoSansSC-Doorstep-GBK.otf"
