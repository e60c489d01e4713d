#!/usr/bin/env python3
"""Interpolated Kneser-Ney byte n-gram models: the baseline a compiled model
must beat (issue 13). Written for the benchmark from the textbook definition
(Chen & Goodman 1998, interpolated *modified* Kneser-Ney: three discounts per
order, D1, D2, D3+ from that order's count-of-counts n1..n4, Y = n1/(n1+2 n2),
Dk = k - (k+1) Y n(k+1)/nk), nothing copied.

  P_N(w | h) = max(c(h w) - D(c(h w)), 0) / c(h) + gamma(h) * P_{N-1}(w | h')
  gamma(h)   = (D1 N1(h .) + D2 N2(h .) + D3+ N3+(h .)) / c(h)
with raw counts c at the highest order and continuation counts
N1+(. h w) (distinct left neighbours) at the lower ones; the order-1 model
is interpolated with the uniform distribution over the 256 bytes; a context
never seen backs off entirely to the next lower order.

  ngram.py --source DIR [--orders 3,4,5,6,7] [--json]

reads DIR/model.toml's [[data]] files and split exactly as modelc does
(`split = F`: the last floor(F * size) bytes of the file are validation;
"val" / "train": the whole file), concatenates train parts and val parts in
file order, fits on train and prints val nats/byte per order.
"""
import argparse
import json
import math
import os
import sys
import tomllib
from collections import defaultdict


def read_split(src):
    cfg = tomllib.load(open(os.path.join(src, "model.toml"), "rb"))
    train, val = bytearray(), bytearray()
    for d in cfg["data"]:
        path = d["path"] if os.path.isabs(d["path"]) else os.path.join(src, d["path"])
        b = open(path, "rb").read()
        split = d.get("split", "train")
        if isinstance(split, (int, float)):
            nv = min(len(b), max(0, math.floor(len(b) * split)))
        else:
            nv = len(b) if split == "val" else 0
        train += b[:len(b) - nv]
        val += b[len(b) - nv:]
    return bytes(train), bytes(val)


class KneserNey:
    def __init__(self, train, max_order):
        self.N = max_order
        # raw[n][gram] for n = 1..N (gram: bytes of length n)
        raw = [None] + [defaultdict(int) for _ in range(max_order)]
        for n in range(1, max_order + 1):
            r = raw[n]
            for i in range(len(train) - n + 1):
                r[train[i:i + n]] += 1
        # cont[n][gram] = distinct left neighbours, for n = 1..N-1
        cont = [None] + [defaultdict(int) for _ in range(max_order - 1)]
        for n in range(1, max_order):
            c = cont[n]
            for g in raw[n + 1]:
                c[g[1:]] += 1
        self.counts = [None] + [cont[n] for n in range(1, max_order)] + [raw[max_order]]
        # Per order: the discounts; per context: total count and the
        # discount mass gamma(h) * c(h).
        self.ctx_total, self.ctx_mass, self.D = [None], [None], [None]
        for n in range(1, max_order + 1):
            nk = [0] * 5
            for k in self.counts[n].values():
                if k <= 4:
                    nk[k] += 1
            if min(nk[1:]) == 0:
                D = (0.5, 0.5, 0.5)
            else:
                Y = nk[1] / (nk[1] + 2 * nk[2])
                D = tuple(k - (k + 1) * Y * nk[k + 1] / nk[k] for k in (1, 2, 3))
            tot, mass = defaultdict(int), defaultdict(float)
            for g, k in self.counts[n].items():
                tot[g[:-1]] += k
                mass[g[:-1]] += D[min(k, 3) - 1]
            self.ctx_total.append(tot)
            self.ctx_mass.append(mass)
            self.D.append(D)

    def prob(self, h, w):
        """P(w | h), h: up to N-1 preceding bytes."""
        p = 1.0 / 256
        for n in range(1, self.N + 1):
            ctx = h[len(h) - (n - 1):] if n > 1 else b""
            if n > 1 and len(h) < n - 1:
                break
            tot = self.ctx_total[n].get(ctx, 0)
            if tot == 0:
                continue  # unseen context: keep the lower order's estimate
            k = self.counts[n].get(ctx + w, 0)
            d = self.D[n][min(k, 3) - 1] if k > 0 else 0.0
            p = (k - d) / tot + self.ctx_mass[n][ctx] / tot * p
        return p

    def nats_per_byte(self, text):
        s = 0.0
        for i in range(len(text)):
            h = text[max(0, i - self.N + 1):i]
            s -= math.log(self.prob(h, text[i:i + 1]))
        return s / len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True)
    ap.add_argument("--orders", default="3,4,5,6,7")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    train, val = read_split(a.source)
    orders = [int(x) for x in a.orders.split(",")]
    lm = KneserNey(train, max(orders))
    out = {"train_bytes": len(train), "val_bytes": len(val), "orders": {}}
    for n in orders:
        # Order n's top level uses raw counts, not continuation counts: its own model.
        sub = lm if n == lm.N else KneserNey(train, n)
        out["orders"][n] = sub.nats_per_byte(val)
        if not a.json:
            print(f"{n}-gram  {out['orders'][n]:.4f} nats/byte", flush=True)
    best = min(out["orders"], key=out["orders"].get)
    out["best_order"], out["best"] = best, out["orders"][best]
    if a.json:
        print(json.dumps(out))
    else:
        print(f"best: {best}-gram {out['best']:.4f} nats/byte ({len(train)} train / {len(val)} val bytes)")


if __name__ == "__main__":
    main()
