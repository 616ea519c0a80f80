#!/usr/bin/env python3
# perf/live_ingest_breakdown.py: where a thread of `tickflow run` spends its
# CPU, by what the live edge does (TLS, websocket framing, syscalls, handler
# dispatch, copies, de-dup, publish, futex wakes, logging, parsing), from a
# `perf record -e cpu-clock -g` profile (perf/live_ingest_profile.sh makes
# one over a bench/live_ingest run).
#
#   perf script -i perf.data -F comm,tid,ip,sym,dso | perf/live_ingest_breakdown.py --comm tf-feed-0 [--us-per-frame X]
#   perf/live_ingest_breakdown.py --callgrind callgrind.out.PID-NN --frames N   (instructions per frame)
#
# Each sample goes to one category: the stack is walked from the leaf to the
# root and the first frame that matches a rule decides. A memcpy/memmove or
# mutex leaf is attributed to the category of the frames above it ("copy in
# publish"), since who copies matters more than the copy routine. Samples in
# the kernel that match no syscall rule are "kernel: other" (interrupts,
# scheduling). With --us-per-frame (the thread's CPU per frame from
# live_ingest), each share is also given in ns per frame. With --callgrind,
# the same rules classify each function's self instructions (no stacks: a
# copy routine is its own line; the kernel is invisible to callgrind).
import argparse
import re
import sys
from collections import Counter

RULES = [
    ("logging", r"spdlog|tickflow::log|fmt::v\d+::"),
    ("kernel: futex (wake/wait)", r"futex"),
    ("epoll_wait (syscall and the asio reactor)", r"epoll|ep_poll|do_epoll"),
    ("kernel: socket read", r"tcp_recvmsg|sock_recvmsg|sock_read_iter|recvfrom|ksys_read|__x64_sys_read|recvmsg|tcp_rcv|skb_copy_datagram"),
    ("kernel: socket write", r"tcp_sendmsg|sock_sendmsg|__x64_sys_write|ksys_write|sendmsg"),
    ("kernel: timers/clock", r"timerfd|hrtimer|clock_nanosleep|__x64_sys_clock"),
    ("parsing (Binance parser, simdjson)", r"Parser::parse|EventBuffer::push|BinanceParser|binance_|simdjson|parse_trade|parse_decimal|json_support|fast_float|from_chars"),
    ("de-dup, gap check (LiveFeed)", r"LiveFeed::"),
    ("publish (FeedPublisher, ring, doorbell)", r"FeedPublisher|FeedChannel|SpscRing|Doorbell|publish"),
    ("TLS record layer (OpenSSL)", r"libssl|libcrypto|^SSL_|ossl_|ssl3_|tls1?_|aesni|gcm|EVP_|BIO_|CRYPTO_"),
    ("handler dispatch (asio, std::function, shared_ptr)", r"asio::|executor|_Sp_counted|shared_ptr|std::function|_Function_handler|io_context|IoLoop|scheduler|reactor|async_base|work_guard|bind_front|handler_ptr|allocate_stable|optional_base|shared_count|weak_count|sp_counted|weak_release"),
    ("websocket framing", r"websocket|WebSocket|utf8|frame_reader|read_frame|ws_frame|unmask|Session::on_read|Session::read_pass|hand_on_frames|on_frame_bytes|deliver_in_place|deliver_copy|make_room|decode_ws_frame|FrameReader|Session::read_next|buffers_prefix|buffers_suffix|flat_buffer|buffers_cat"),
    ("allocation", r"malloc|_int_free|_int_malloc|cfree|operator new|operator delete|tcache"),
    ("clock (clock_gettime)", r"clock_gettime|vdso|realtime_ns"),
]
COPY = re.compile(r"memmove|memcpy|__memcpy|__memmove|memset")
MUTEX = re.compile(r"pthread_mutex|__lll_lock|mutex")
COMPILED = [(name, re.compile(pattern)) for name, pattern in RULES]


def strip_templates(sym):
    """boost::beast::websocket::stream<...any_executor...>::read_some_op<...>::f -> ...stream::read_some_op::f:
    the rules look at what a function is, not at its template arguments."""
    out, depth = [], 0
    for ch in sym:
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def classify(frames):
    """frames: [(sym, dso)] leaf first."""
    if not frames:
        return "unknown"
    prefix = ""
    start = 0
    leaf_sym, leaf_dso = frames[0]
    if COPY.search(leaf_sym):
        prefix, start = "copy (memcpy/memmove) in ", 1
    elif MUTEX.search(leaf_sym):
        prefix, start = "mutex in ", 1
    for sym, dso in frames[start:]:
        text = strip_templates(sym) + " " + dso
        for name, rx in COMPILED:
            if rx.search(text):
                return prefix + name
    if "kernel" in leaf_dso:
        return prefix + "kernel: other (interrupts, scheduler)"
    if prefix:
        return prefix + "unattributed"
    return "other: " + (leaf_sym if leaf_sym != "[unknown]" else leaf_dso)


def samples(stream):
    header = None
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if header is not None:
                yield header, frames
            header, frames = None, []
            continue
        if not line.startswith((" ", "\t")):
            if header is not None:
                yield header, frames
            header, frames = line.split()[0], []
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            frames.append((sym, m.group(2)))
    if header is not None:
        yield header, frames


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--comm", default="tf-feed-0", help="thread name (prefix match); '' for every thread")
    ap.add_argument("--us-per-frame", type=float, default=0, help="the thread's CPU us per frame (live_ingest)")
    ap.add_argument("--top-other", type=int, default=12)
    ap.add_argument("--callgrind", help="a callgrind output file (one thread's, --separate-threads=yes)")
    ap.add_argument("--frames", type=float, default=0, help="--callgrind: frames in the run")
    args = ap.parse_args()
    if args.callgrind:
        return callgrind(args)
    counts = Counter()
    threads = Counter()
    total = 0
    for comm, frames in samples(sys.stdin):
        threads[comm] += 1
        if args.comm and not comm.startswith(args.comm):
            continue
        counts[classify(frames)] += 1
        total += 1
    print("samples per thread: " + ", ".join(f"{c} {n}" for c, n in threads.most_common()))
    print(f"thread {args.comm or '(all)'}: {total} samples")
    if total == 0:
        return
    named = [(k, v) for k, v in counts.most_common() if not k.startswith("other: ")]
    others = [(k, v) for k, v in counts.most_common() if k.startswith("other: ")]
    header = f"{'category':58s} {'samples':>8s} {'share':>7s}"
    if args.us_per_frame:
        header += f" {'ns/frame':>9s}"
    print(header)
    for k, v in named + [("other (below)", sum(v for _, v in others))]:
        row = f"{k[:58]:58s} {v:8d} {100.0 * v / total:6.1f}%"
        if args.us_per_frame:
            row += f" {1000.0 * args.us_per_frame * v / total:9.0f}"
        print(row)
    for k, v in others[: args.top_other]:
        print(f"    {k[:80]:80s} {v:6d} {100.0 * v / total:5.1f}%")


def callgrind(args):
    import subprocess

    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", args.callgrind],
                          capture_output=True, text=True, check=True).stdout
    counts = Counter()
    total = 0
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        ir = int(m.group(1).replace(",", ""))
        rest = m.group(2)
        dso = re.search(r"\[(.*)\]\s*$", rest)
        sym = rest.split(":", 1)[1] if ":" in rest else rest
        frames = [(sym, dso.group(1) if dso else "")]
        cat = ("copy (memcpy/memmove)" if COPY.search(sym) else
               "mutex (pthread)" if MUTEX.search(sym) else classify(frames))
        if cat.startswith("other: "):
            cat = "other"
        counts[cat] += ir
        total += ir
    print(f"{args.callgrind}: {total:,} instructions" + (f", {total / args.frames:,.0f} per frame" if args.frames else ""))
    print(f"{'category':58s} {'share':>7s} {'instr/frame':>12s}")
    for k, v in counts.most_common():
        per = f"{v / args.frames:12,.0f}" if args.frames else ""
        print(f"{k[:58]:58s} {100.0 * v / total:6.1f}% {per}")


if __name__ == "__main__":
    main()
