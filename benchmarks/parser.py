"""Frame parser cost: microseconds per byte of adversarial input against benign traffic.

Benign: a recorded-like stream of real frames (HEARTBEAT, MEASURE and their ACKs). Adversarial: byte
patterns that make overlapping frame candidates with lengths near the 1024-byte maximum, the input that
once cost ~190 us per byte. Each is fed in 64-byte reads. Prints a table with the ratio of each to
benign and writes benchmarks/results/parser.json.
"""

import json
import sys
import time
from pathlib import Path

from laserdose.cli.output import print_table
from laserdose.device.protocol import Frame, FrameParser, Msg, encode_frame

SIZE = 200_000  # bytes per stream
READ = 64  # bytes per feed() call
MEASURE_ACK = {"data": {"t_s": 12.3, "state": "emitting", "power_w": {"810": 6.01, "980": 3.98},
                        "energy_j": {"810": 70.2, "980": 46.8}, "emitting": {"810": True, "980": True},
                        "on_s": {"810": 11.7, "980": 11.7}, "temperature_c": 31.2}}  # fmt: skip


def benign() -> bytes:
    """Real frames, one control period after another, until SIZE bytes."""
    out = bytearray()
    seq = 0
    while len(out) < SIZE:
        seq = (seq + 1) % 256
        out += encode_frame(Frame(seq, Msg.HEARTBEAT, {}))
        out += encode_frame(Frame(seq, Msg.ACK, {"data": {"t_s": 12.3}}))
        out += encode_frame(Frame(seq, Msg.MEASURE, {}))
        out += encode_frame(Frame(seq, Msg.ACK, MEASURE_ACK))
    return bytes(out[:SIZE])


def adversarial() -> dict[str, bytes]:
    """Patterns with many overlapping candidates of near-maximal declared length."""
    patterns = {
        "A5 03 repeated (length 933 every 2 bytes)": b"\xa5\x03",
        "A5 03 A5 01 { (valid types)": b"\xa5\x03\xa5\x01\x7b",
        "A5 03 FF 01 03 + JSON-like text": b"\xa5\x03\xff\x01\x03" + b'{"a":' * 200,
        "A5 00 FF 01 01": b"\xa5\x00\xff\x01\x01",
    }
    return {name: (unit * (SIZE // len(unit) + 1))[:SIZE] for name, unit in patterns.items()}


def cost_us_per_byte(data: bytes, repeats: int = 3) -> float:
    """Best of `repeats` runs: parser time per byte fed [us]."""
    best = float("inf")
    for _ in range(repeats):
        parser = FrameParser()
        started = time.perf_counter()
        for i in range(0, len(data), READ):
            parser.feed(data[i : i + READ])
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / len(data)


def main() -> int:
    base = cost_us_per_byte(benign())
    rows = [["benign frames", base, 1.0]]
    for name, data in adversarial().items():
        cost = cost_us_per_byte(data)
        rows.append([name, cost, cost / base])
    print_table(
        f"Frame parser cost ({SIZE // 1000} kB per stream, {READ}-byte reads)",
        ["input", "cost [us/byte]", "ratio to benign"],
        rows,
    )
    out = Path(__file__).parent / "results" / "parser.json"
    out.parent.mkdir(exist_ok=True)
    payload = {"bytes": SIZE, "read_bytes": READ,
               "rows": [{"input": r[0], "us_per_byte": r[1], "ratio": r[2]} for r in rows]}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if max(r[2] for r in rows) <= 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())
