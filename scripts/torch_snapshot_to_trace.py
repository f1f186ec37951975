#!/usr/bin/env python3
"""Converts a PyTorch CUDA memory snapshot into a tally trace, so that a PyTorch workload replays
against tally's strategies like a native trace (`tally replay TRACE.csv`).

Usage: torch_snapshot_to_trace.py SNAPSHOT.pickle -o TRACE.csv [--device N]

SNAPSHOT.pickle is what torch.cuda.memory._dump_snapshot(path) writes after
torch.cuda.memory._record_memory_history(). Its device_traces[N] (default 0) is the caching
allocator's event history for cuda:N, one dict per event: action, addr, size, stream, time_us,
frames. Only the standard library is used, and the pickle is loaded refusing every class or
function reference: a snapshot is plain dicts, lists, strings and numbers, so nothing in the file
can run code or import torch.

Mapping, by PyTorch action (c10/cuda/CUDACachingAllocator.cpp records them):
  alloc           alloc. `size` is the caller's request before rounding (alloc_found_block
                  records orig_size), so it is `requested`; tally's strategies round it again on
                  replay. The block size is not in the entry, so `allocated` is `size` too. An
                  entry that does carry `requested_size` gets requested = requested_size and
                  allocated = size.
  free_completed  free, with the block's requested and allocated bytes from its alloc.
                  free_block() records it when the block goes back to the pool and can be handed
                  out again; tally's strategies reuse a block from the moment it is freed, so this
                  is the allocator's view of the free. PyTorch's memory viewer ends a block's
                  life here too (torch/utils/viz/MemoryViz.js, process_alloc_data).
  free_requested  dropped. free() records it when the caller lets go; with record_stream the
                  block stays unusable until its streams' events complete, and freeing it here
                  would let the replay reuse memory that PyTorch could not.
  segment_alloc   segment_alloc (a cudaMalloc; `size` is the segment's size).
  segment_free    segment_free (a cudaFree).
  oom             oom at address 0x0. The entry has `device_free` in place of `addr`, and its
                  `size` is the request already rounded (params.size()): requested = allocated.
  segment_map, segment_unmap
                  skipped and counted: expandable segments map and unmap page ranges inside one
                  reservation, which are not segments that a segment_free could name.
  snapshot, annotate
                  dropped: markers (a snapshot taken, metadata on a live block), no memory moves.
  anything else   an error.

Block and oom rows get tag `other`, every row no scope, phase `none` and device `cuda:N`, as in
tally's RMM importer (allocator/rmm_log.h); streams (cudaStream_t values) are numbered 0, 1, ...
in order of first appearance in the rows written. time_ns is time_us from the first entry, in
nanoseconds; where entries lack time_us (older PyTorch releases) it is the row's seq instead,
which keeps the order.

History starts mid-run, and a bounded history (max_entries) keeps only the latest events, so a
trace can free blocks or segments it never saw allocated. Those free_completed and segment_free
entries are skipped, so that every free in the trace names a live block, and counted on stderr.

Bad input (a missing file, not a snapshot, no or an empty device trace, a malformed entry, an
unknown action, an alloc at an address still allocated) gives one line on stderr,
`torch_snapshot_to_trace: error: ...`, exit status 1, and no output file.
"""

import argparse
import csv
import pickle
import sys

PROG = "torch_snapshot_to_trace"
VERSION_LINE = "# tally trace v1"
HEADER = ["seq", "time_ns", "action", "device", "address", "requested", "allocated", "stream",
          "tag", "prev_tag", "scope", "phase"]
SKIPPED_FREE = "free_completed of blocks allocated before the history started"
SKIPPED_SEGMENT_FREE = "segment_free of segments allocated before the history started"
SKIPPED_MAPPING = "segment_map/segment_unmap (expandable segments' page ranges, not segments)"


class Failure(Exception):
    """Bad input or output: reported in one line, not as a traceback."""


class DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise Failure(f"the pickle refers to {module}.{name}; a memory snapshot is plain data")


def load_snapshot(path):
    try:
        with open(path, "rb") as f:
            return DataOnlyUnpickler(f).load()
    except OSError as e:
        raise Failure(f"cannot read {path}: {e.strerror}") from e
    except Failure as e:
        raise Failure(f"{path}: {e}") from e
    except Exception as e:  # garbage makes unpickling raise almost any type (pickle's docs)
        raise Failure(f"{path}: not a pickle ({type(e).__name__}: {e})") from e


def device_trace(snapshot, device, path):
    if not isinstance(snapshot, dict):
        raise Failure(f"{path}: not a PyTorch memory snapshot (a {type(snapshot).__name__}, "
                      "not a dict with 'device_traces')")
    traces = snapshot.get("device_traces")
    if not isinstance(traces, list):
        raise Failure(f"{path}: no device_traces, which torch.cuda.memory._dump_snapshot() "
                      "writes")
    if not 0 <= device < len(traces) or not isinstance(traces[device], list):
        raise Failure(f"{path}: no device {device} in device_traces ({len(traces)} devices)")
    if not traces[device]:
        raise Failure(f"{path}: device_traces[{device}] is empty: call "
                      "torch.cuda.memory._record_memory_history() before the workload")
    return traces[device]


def number(entry, key, where):
    value = entry.get(key)
    if type(value) is not int or value < 0:  # type(), not isinstance: True is an int too
        raise Failure(f"{where}: '{key}' must be a non-negative integer, got {value!r}")
    return value


def convert(entries, device):
    """The rows of the trace, and how many entries of each kind were skipped."""
    rows = []
    skipped = {}
    streams = {}
    live_blocks = {}  # address -> (requested, allocated, PyTorch stream)
    live_segments = set()
    timed = all(isinstance(e, dict) and "time_us" in e for e in entries)
    start_us = number(entries[0], "time_us", f"device_traces[{device}][0]") if timed else 0

    def emit(action, address, requested, allocated, stream, tag, entry, where):
        seq = len(rows)
        time_ns = max(number(entry, "time_us", where) - start_us, 0) * 1000 if timed else seq
        rows.append([seq, time_ns, action, f"cuda:{device}", f"0x{address:x}", requested,
                     allocated, streams.setdefault(stream, len(streams)), tag, "", "", "none"])

    def skip(what):
        skipped[what] = skipped.get(what, 0) + 1

    for index, e in enumerate(entries):
        where = f"device_traces[{device}][{index}]"
        if not isinstance(e, dict) or not isinstance(e.get("action"), str):
            raise Failure(f"{where}: not a trace entry (a dict with an 'action')")
        action = e["action"]
        if action == "alloc":
            address, size = number(e, "addr", where), number(e, "size", where)
            requested = number(e, "requested_size", where) if "requested_size" in e else size
            if requested > size:
                raise Failure(f"{where}: requested_size {requested} exceeds size {size}")
            if address in live_blocks:
                raise Failure(f"{where}: alloc at 0x{address:x}, which is still allocated "
                              "(was free_completed left out with skip_actions?)")
            stream = number(e, "stream", where)
            live_blocks[address] = (requested, size, stream)
            emit("alloc", address, requested, size, stream, "other", e, where)
        elif action == "free_completed":
            address = number(e, "addr", where)
            if address not in live_blocks:
                skip(SKIPPED_FREE)
                continue
            emit("free", address, *live_blocks.pop(address), "other", e, where)
        elif action in ("segment_alloc", "segment_free"):
            address, size = number(e, "addr", where), number(e, "size", where)
            if action == "segment_alloc":
                if address in live_segments:
                    raise Failure(f"{where}: segment_alloc at 0x{address:x}, "
                                  "a segment that is still allocated")
                live_segments.add(address)
            elif address in live_segments:
                live_segments.remove(address)
            else:
                skip(SKIPPED_SEGMENT_FREE)
                continue
            emit(action, address, size, size, number(e, "stream", where), "", e, where)
        elif action == "oom":
            size = number(e, "size", where)
            emit("oom", 0, size, size, number(e, "stream", where), "other", e, where)
        elif action in ("segment_map", "segment_unmap"):
            skip(SKIPPED_MAPPING)
        elif action not in ("free_requested", "snapshot", "annotate"):
            raise Failure(f"{where}: unknown action '{action}'")
    return rows, skipped


def write_trace(path, rows):
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            f.write(VERSION_LINE + "\n")
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(rows)
    except OSError as e:
        raise Failure(f"cannot write {path}: {e.strerror}") from e


def main():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Convert a PyTorch CUDA memory snapshot (torch.cuda.memory."
        "_dump_snapshot) into a tally trace for `tally replay`.")
    parser.add_argument("snapshot", help="the pickle written by _dump_snapshot()")
    parser.add_argument("-o", "--output", required=True, help="the tally trace CSV to write")
    parser.add_argument("--device", type=int, default=0,
                        help="which CUDA device's history to convert (default 0)")
    args = parser.parse_args()
    try:
        entries = device_trace(load_snapshot(args.snapshot), args.device, args.snapshot)
        rows, skipped = convert(entries, args.device)
        write_trace(args.output, rows)
    except Failure as e:
        message = " ".join(str(e).split())  # one line, whatever the unpickler's message held
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    for what, count in skipped.items():
        print(f"{PROG}: skipped {what}: {count}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
