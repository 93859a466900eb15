/**
 * MLLP framing (HL7 v2 Appendix C): VT (0x0B) <message bytes> FS (0x1C) CR (0x0D).
 *
 * Framed on bytes, by hand, on purpose: the message text cannot be decoded until MSH-18 has
 * been read from its bytes (GB 18030 or Latin-1 bytes are not UTF-8), and a multi-byte
 * character split across TCP chunks must not be decoded half. Ready-made MLLP servers
 * (@medplum/hl7) decode each chunk as text first. Everything outside a frame (a lone CR after
 * FS, keep-alive noise) is ignored.
 */
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export function frame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.of(VT), message, Buffer.of(FS, CR)]);
}

/** A frame over the maximum: only its start is kept; `size` is the whole frame's. */
export interface OversizeFrame {
  head: Buffer;
  size: number;
  /** How many of the same push's `frames` came before it (the answers keep arrival order). */
  before: number;
}

export interface FrameResult {
  frames: Buffer[];
  /** Frames over the maximum, read to their end (with `keepOversize`). */
  oversize: OversizeFrame[];
  /** A frame grew past what is accepted (or, with `keepOversize`, past what is read through): close. */
  overflow: boolean;
}

export interface DecoderOptions {
  /**
   * Read an over-size frame through to its end, keeping its first `headBytes`, so it can be
   * answered (AR) and kept; one that runs past `giveUpAfter` bytes still overflows.
   */
  keepOversize?: { headBytes: number; giveUpAfter: number };
}

export class MllpDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  /** The frame being read through after it passed the maximum. */
  private skipping: { head: Buffer; size: number } | undefined;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly options: DecoderOptions = {},
  ) {}

  /** Bytes received inside an unfinished frame (for logging). */
  get pendingBytes(): number {
    return this.skipping?.size ?? this.size;
  }

  push(chunk: Buffer): FrameResult {
    const frames: Buffer[] = [];
    const oversize: OversizeFrame[] = [];
    const keep = this.options.keepOversize;
    let i = 0;
    while (i < chunk.length) {
      if (!this.inFrame) {
        const start = chunk.indexOf(VT, i);
        if (start < 0) break; // garbage outside frames
        this.inFrame = true;
        i = start + 1;
        continue;
      }
      const end = chunk.indexOf(FS, i);
      const restart = chunk.indexOf(VT, i);
      if (restart >= 0 && (end < 0 || restart < end)) {
        // A new start block inside an open frame: the sender gave up on the earlier one.
        this.reset();
        this.inFrame = true;
        i = restart + 1;
        continue;
      }
      const stop = end < 0 ? chunk.length : end;
      if (!this.skipping && this.size + (stop - i) > this.maxMessageBytes) {
        if (!keep) {
          this.reset();
          return { frames, oversize, overflow: true };
        }
        const sofar = Buffer.concat(this.parts, this.size);
        this.skipping = { head: Buffer.from(sofar.subarray(0, keep.headBytes)), size: this.size };
        this.parts = [];
        this.size = 0;
      }
      if (this.skipping && keep) {
        const s = this.skipping;
        if (s.head.length < keep.headBytes) {
          s.head = Buffer.concat([
            s.head,
            chunk.subarray(i, Math.min(stop, i + keep.headBytes - s.head.length)),
          ]);
        }
        s.size += stop - i;
        if (s.size > keep.giveUpAfter) {
          this.reset();
          return { frames, oversize, overflow: true };
        }
        if (end < 0) break;
        oversize.push({ head: s.head, size: s.size, before: frames.length });
        this.reset();
        i = end + 1;
        continue;
      }
      if (stop > i) {
        this.parts.push(chunk.subarray(i, stop));
        this.size += stop - i;
      }
      if (end < 0) break;
      frames.push(
        this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts, this.size),
      );
      this.reset();
      i = end + 1; // the CR after FS is skipped as out-of-frame bytes
    }
    return { frames, oversize, overflow: false };
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = undefined;
    this.inFrame = false;
  }
}
