#!/usr/bin/env python3
"""Checks for trends_test: what a picture holds, read with Python's standard library.

  trends_check.py xml FILE SERIES:POINTS...   FILE parses as XML; for each SERIES a p50
                                              and a p90 line with POINTS points and
                                              POINTS failure bars
  trends_check.py png FILE                    FILE is a PNG whose plot shows the p50,
                                              p90 and failure colours on a non-blank area
Exits 0 when the check holds, 1 with the reason on stderr otherwise.
"""
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"


def fail(why):
    sys.stderr.write(why + "\n")
    sys.exit(1)


def check_xml(path, expected):
    root = ET.parse(path).getroot()
    for spec in expected:
        series, points = spec.rsplit(":", 1)
        for cls in ("p50", "p90"):
            lines = [e for e in root.iter(SVG + "polyline")
                     if e.get("class") == cls and e.get("data-series") == series]
            if len(lines) != 1:
                fail(f"{series}: {len(lines)} {cls} lines")
            got = len(lines[0].get("points").split())
            if got != int(points):
                fail(f"{series}: {cls} has {got} points, expected {points}")
        bars = [e for e in root.iter(SVG + "rect")
                if e.get("class") == "failure" and e.get("data-series") == series]
        if len(bars) != int(points):
            fail(f"{series}: {len(bars)} failure bars, expected {points}")


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("not a PNG")
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        fail(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def check_png(path):
    width, height, channels, rows = png_pixels(path)
    wanted = {"p50": (0x1f, 0x77, 0xb4), "p90": (0xff, 0x7f, 0x0e),
              "failure": (230, 125, 126)}  # #d62728 at 60% over white
    seen = {name: 0 for name in wanted}
    drawn = 0
    for row in rows:
        for x in range(0, width * channels, channels):
            pixel = tuple(row[x:x + 3])
            if pixel != (255, 255, 255):
                drawn += 1
            for name, colour in wanted.items():
                if all(abs(a - b) <= 12 for a, b in zip(pixel, colour)):
                    seen[name] += 1
    if drawn < width * height // 100:
        fail(f"the picture is blank: {drawn} drawn pixels of {width * height}")
    for name, count in seen.items():
        if count < 20:
            fail(f"the {name} colour is missing ({count} pixels)")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "xml":
        check_xml(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "png":
        check_png(sys.argv[2])
    else:
        fail(__doc__)
