#!/usr/bin/env python3
"""The build report in a real browser (ctest ReportBrowser.Renders).

Builds a tiny model with `modelc build`, opens the report it wrote beside the
binary in headless Chromium (Debian's chromium package) and checks that
  - the page loads without a single console message (a script error, a
    Content-Security-Policy violation or a resource that failed would be one),
  - the DOM Chromium built has every section, the chart <svg> with the train
    and val polylines (one train point per step, one val point per
    evaluation), the escaped title as text and no <script> element,
  - the screenshot is not blank: many colours, and pixels of the train (blue)
    and val (orange) line colours inside the chart.

usage: report_browser_test.py MODELC WORKDIR
Exit 0 pass, 1 fail, 77 skip (no chromium). The screenshot stays in
WORKDIR/report.png for a human to look at.
"""
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import zlib

TRAIN_RGB = (0x1F, 0x6F, 0xC5)
VAL_RGB = (0xE0, 0x66, 0x1B)
STEPS, EVAL_EVERY = 24, 6
TITLE = "<script>alert(1)</script> Words & more"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    if p.returncode != 0:
        fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def corpus(nbytes):
    words = ("the of and to a in is it you that he was for on are with as his they be at one have this from "
             "garden river little house old night morning light story under small quiet").split()
    state, out, n = 12345, [], 0
    while n < nbytes:
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        w = words[(state >> 33) % len(words)]
        out.append(w)
        n += len(w) + 1
        if (state >> 20) % 11 == 0:
            out.append(".\n")
    return " ".join(out)


def write_source(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "corpus.txt"), "w") as f:
        f.write(corpus(20000))
    toml = f"""[model]
name = "browser-report"
description = "tiny model for the report browser test"
license = "MIT"
authors = ["report_browser_test"]

[architecture]
family = "gpt"
n_layer = 1
n_head = 2
n_embd = 32
context = 32

[tokenizer]
kind = "byte"

[train]
steps = {STEPS}
batch_size = 4
micro_batch_size = 2
learning_rate = 0.003
warmup_steps = 2
seed = 3
eval_every = {EVAL_EVERY}
eval_batches = 2

[[data]]
path = "corpus.txt"
title = "{TITLE.replace('"', '')}"
author = "test"
license = "CC0-1.0"
source_url = "https://example.invalid/words"
split = 0.1
"""
    with open(os.path.join(d, "model.toml"), "w") as f:
        f.write(toml)


def chromium(binary, workdir, url, extra):
    profile = os.path.join(workdir, "profile-" + str(len(os.listdir(workdir))))
    os.makedirs(profile)  # a new, empty user data dir for every run
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
           "--window-size=1200,2000"] + extra + [url]
    p = run(cmd, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    if console:
        fail("console messages while loading the report:\n" + "\n".join(console))
    return p


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []  # (tag, attrs dict)
        self.text = []
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + " is not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        fail("unexpected PNG format depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def near(p, q, tol=40):
    return sum(abs(a - b) for a, b in zip(p, q)) <= tol


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 1
    modelc, work = sys.argv[1], os.path.abspath(sys.argv[2])
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("SKIP: chromium not found (scripts/setup installs Debian's chromium)", file=sys.stderr)
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "src")
    write_source(src)
    run([modelc, "build", "--pin", src])
    model = os.path.join(work, "m.gguf")
    build = run([modelc, "build", src, "-o", model, "-q", "--threads", "1"])
    report = os.path.join(work, "m.report.html")
    if not os.path.isfile(report):
        fail("modelc build did not write " + report + "\n" + build.stdout)
    if "report       " + report not in build.stdout:
        fail("the build summary does not name the report:\n" + build.stdout)
    url = "file://" + report

    # 1. The DOM.
    dom_run = chromium(browser, work, url, ["--dump-dom"])
    d = Dom()
    d.feed(dom_run.stdout)
    tags = d.tags
    text = "".join(d.text)
    if any(t == "script" for t, _ in tags):
        fail("the DOM has a <script> element")
    sections = {a.get("id") for t, a in tags if t == "section"}
    for want in ("summary", "loss-curves", "hyperparameters", "credits", "licence", "audit", "hashes"):
        if want not in sections:
            fail("no <section id=%s> in the DOM (have %s)" % (want, sorted(s for s in sections if s)))
    svgs = [a for t, a in tags if t == "svg"]
    if len(svgs) != 1 or svgs[0].get("id") != "loss-chart":
        fail("expected one <svg id=loss-chart>, got %r" % svgs)
    lines = {a.get("class"): a.get("points", "") for t, a in tags if t == "polyline"}
    if set(lines) != {"series train", "series val"}:
        fail("expected the train and val polylines, got %r" % sorted(lines))
    n_train, n_val = len(lines["series train"].split()), len(lines["series val"].split())
    if n_train != STEPS or n_val != STEPS // EVAL_EVERY:
        fail("polyline points: train %d (want %d), val %d (want %d)" % (n_train, STEPS, n_val, STEPS // EVAL_EVERY))
    if "nan" in (lines["series train"] + lines["series val"]).lower():
        fail("NaN in the polylines")
    if TITLE.replace('"', '') not in text:
        fail("the data source title is not shown as text (escaped) in the page")
    for t in ("step", "train", "val", "Credits", "Licence check", "OSI Open Source AI Definition 1.0"):
        if t not in text:
            fail("the page text lacks %r" % t)

    # 2. The screenshot.
    shot = os.path.join(work, "report.png")
    chromium(browser, work, url, ["--screenshot=" + shot])
    w, h, rows = read_png(shot)
    colours = set()
    train_px = val_px = 0
    for row in rows:
        for p in row:
            colours.add(p)
            train_px += near(p, TRAIN_RGB)
            val_px += near(p, VAL_RGB)
    print("screenshot %s: %dx%d, %d colours, %d train-coloured and %d val-coloured pixels" %
          (shot, w, h, len(colours), train_px, val_px))
    if len(colours) < 50:
        fail("the screenshot looks blank (%d colours)" % len(colours))
    if train_px < 100 or val_px < 30:
        fail("the chart's lines are not visible (train %d, val %d pixels)" % (train_px, val_px))
    print("ok: %s renders without console messages; chart with %d train and %d val points" % (report, n_train, n_val))
    return 0


if __name__ == "__main__":
    sys.exit(main())
