"""Cutting a bgzipped VCF into independently readable segments, for parsing on several cores.

Why: htslib parses one line at a time on one core, and parsing is most of an ingest's time. A BGZF
file is a series of gzip blocks that each inflate on their own, so it can be cut between blocks
without an index: every segment is a valid bgzipped VCF made of

* the file's header (re-compressed) — except for the first segment, which starts at the file start;
* the rest of the line that the previous segment's last block began (the "tail" of a block, after
  its first newline, re-compressed);
* the original compressed blocks, copied byte for byte (no inflate, no deflate);
* the head of the next cut block, up to and including its first newline, and an end-of-file block.

Only the few cut blocks are inflated and deflated again, so planning costs milliseconds. The
segments are fed to htslib through pipes (:func:`feed`), so nothing is written to disk. A file whose
block structure does not parse cleanly is not cut at all: htslib then reads it whole and reports
the damage with a line number.
"""

from __future__ import annotations

import mmap
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_MAX_BLOCK_DATA = 0xFF00   # what bgzip puts in a block: leaves room for incompressible data


@dataclass
class Block:
    offset: int     # in the compressed file
    size: int       # compressed size, header and trailer included
    data_size: int  # inflated size (the ISIZE trailer field)


@dataclass
class Segment:
    """A readable bgzipped VCF: ``prefix`` (the header, at least) then ``pieces`` — literal bytes and
    byte ranges of the original file — in order.

    The prefix is written into the pipe before htslib opens it: cyvcf2 holds the GIL while it reads
    a header, so the feeding thread could not run until the header was read.
    """

    prefix: bytes = b""
    pieces: list[bytes | tuple[int, int]] = field(default_factory=list)

    @property
    def compressed_size(self) -> int:
        return len(self.prefix) + sum(len(p) if isinstance(p, bytes) else p[1] for p in self.pieces)


def bgzf_compress(data: bytes, level: int = 6) -> bytes:
    """``data`` as BGZF blocks (no end-of-file block).

    >>> import gzip
    >>> gzip.decompress(bgzf_compress(b"chr1\\t1\\n" * 20000) + BGZF_EOF) == b"chr1\\t1\\n" * 20000
    True
    """
    out = []
    for start in range(0, len(data), _MAX_BLOCK_DATA):
        piece = data[start:start + _MAX_BLOCK_DATA]
        deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
        payload = deflate.compress(piece) + deflate.flush()
        block_size = 18 + len(payload) + 8
        header = (b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
                  + (block_size - 1).to_bytes(2, "little"))
        out.append(header + payload + (zlib.crc32(piece) & 0xFFFFFFFF).to_bytes(4, "little")
                   + len(piece).to_bytes(4, "little"))
    return b"".join(out)


def scan_blocks(buffer: mmap.mmap | bytes) -> list[Block] | None:
    """Every block of a BGZF file from the block headers alone, or None if the structure is not clean."""
    blocks = []
    offset, end = 0, len(buffer)
    while offset < end:
        if end - offset < 26 or buffer[offset:offset + 4] != b"\x1f\x8b\x08\x04":
            return None
        xlen = int.from_bytes(buffer[offset + 10:offset + 12], "little")
        extra = buffer[offset + 12:offset + 12 + xlen]
        size = None
        i = 0
        while i + 4 <= len(extra):
            length = int.from_bytes(extra[i + 2:i + 4], "little")
            if extra[i:i + 2] == b"BC" and length == 2:
                size = int.from_bytes(extra[i + 4:i + 6], "little") + 1
            i += 4 + length
        if size is None or offset + size > end or size < 12 + xlen + 8:
            return None
        blocks.append(Block(offset, size, int.from_bytes(buffer[offset + size - 4:offset + size], "little")))
        offset += size
    return blocks


def inflate(buffer: mmap.mmap | bytes, block: Block) -> bytes:
    xlen = int.from_bytes(buffer[block.offset + 10:block.offset + 12], "little")
    return zlib.decompress(buffer[block.offset + 12 + xlen:block.offset + block.size - 8], -15)


def plan_segments(path: Path, header: bytes, parts: int, *, max_prefix: int = 512 * 1024) -> list[Segment] | None:
    """Cut a BGZF VCF into about ``parts`` segments of similar compressed size; None if it cannot be cut.

    ``header`` is the file's header text exactly as stored (through the ``#CHROM`` line and its
    newline), given to every segment but the first. None also when the compressed header is larger
    than ``max_prefix`` (what a pipe can hold before its reader starts).
    """
    if parts < 2:
        return None
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
        blocks = scan_blocks(buffer)
        if blocks is None or len(blocks) < 4 * parts:
            return None
        # the block holding the header's last byte, and the first block after it
        start, header_block = 0, None
        for index, block in enumerate(blocks):
            if start + block.data_size >= len(header):
                header_block = index
                break
            start += block.data_size
        if header_block is None or header_block >= len(blocks) - 2:
            return None
        first_prefix = bytes(buffer[:blocks[header_block].offset + blocks[header_block].size])
        total = blocks[-1].offset + blocks[-1].size
        cuts: list[tuple[int, bytes, bytes]] = []      # (block index, head with newline, tail)
        last = header_block
        for k in range(1, parts):
            index = max(last + 1, _block_at(blocks, total * k // parts))
            while index < len(blocks) - 1:             # never the final (end-of-file) block
                try:
                    data = inflate(buffer, blocks[index])
                except zlib.error:                       # damaged: leave it to htslib to report, with a line
                    return None
                newline = data.find(b"\n")
                if newline >= 0:
                    cuts.append((index, data[:newline + 1], data[newline + 1:]))
                    last = index
                    break
                index += 1                               # a line longer than a block: try the next
        if not cuts:
            return None
    header_blocks = bgzf_compress(header)
    if max(len(first_prefix), len(header_blocks)) > max_prefix:
        return None
    segments: list[Segment] = []
    first_raw, tail = header_block + 1, b""
    for index, head, next_tail in [*cuts, (len(blocks), b"", b"")]:
        segment = Segment(prefix=first_prefix) if not segments else Segment(prefix=header_blocks)
        if tail:
            segment.pieces.append(bgzf_compress(tail))
        start_offset = blocks[first_raw].offset if first_raw < len(blocks) else total
        end = blocks[index].offset if index < len(blocks) else total
        if end > start_offset:
            segment.pieces.append((start_offset, end - start_offset))
        if index < len(blocks):
            segment.pieces.append(bgzf_compress(head))
            segment.pieces.append(BGZF_EOF)
        segments.append(segment)
        first_raw, tail = index + 1, next_tail
    return segments


def _block_at(blocks: list[Block], offset: int) -> int:
    """Index of the first block starting at or after a compressed offset."""
    low, high = 0, len(blocks)
    while low < high:
        middle = (low + high) // 2
        if blocks[middle].offset < offset:
            low = middle + 1
        else:
            high = middle
    return low


def open_pipe(min_capacity: int) -> tuple[int, int]:
    """A pipe (read fd, write fd) whose buffer holds at least ``min_capacity`` bytes, or OSError."""
    read_fd, write_fd = os.pipe()
    try:
        import fcntl

        set_size = getattr(fcntl, "F_SETPIPE_SZ", 1031)       # Linux only
        if fcntl.fcntl(write_fd, set_size, max(min_capacity, 65536)) < min_capacity:
            raise OSError("pipe too small")
    except (OSError, ImportError):
        os.close(read_fd)
        os.close(write_fd)
        raise
    return read_fd, write_fd


def write_prefix(path: Path, segment: Segment, fd: int, *, at_least: int = 65536) -> None:
    """Put the segment's prefix into the (large enough) pipe, before a reader opens it.

    htslib peeks up to 2 KB of compressed data to recognise a format and waits until it has them,
    so the prefix is topped up from the segment's next pieces to ``at_least`` bytes (or the whole
    segment); those pieces are then consumed from ``segment.pieces``.
    """
    prefix = bytearray(segment.prefix)
    with path.open("rb") as source:
        while len(prefix) < at_least and segment.pieces:
            piece = segment.pieces[0]
            if isinstance(piece, bytes):
                prefix += piece
                segment.pieces.pop(0)
                continue
            offset, count = piece
            take = min(count, at_least - len(prefix))
            source.seek(offset)
            prefix += source.read(take)
            if take == count:
                segment.pieces.pop(0)
            else:
                segment.pieces[0] = (offset + take, count - take)
    view = memoryview(bytes(prefix))
    while view:
        view = view[os.write(fd, view):]


def feed(path: Path, segment: Segment, fd: int) -> None:
    """Write the rest of a segment into a pipe, then close it; stops quietly if the reader goes away."""
    try:
        with path.open("rb") as source:
            for piece in segment.pieces:
                if isinstance(piece, bytes):
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(fd, view):]
                else:
                    offset, count = piece
                    while count > 0:
                        sent = os.sendfile(fd, source.fileno(), offset, count)
                        if sent == 0:
                            raise OSError(f"{path} ended before offset {offset + count}")
                        offset += sent
                        count -= sent
    except BrokenPipeError:
        pass  # the reader stopped early (an error, or the consumer stopped iterating)
    finally:
        os.close(fd)
