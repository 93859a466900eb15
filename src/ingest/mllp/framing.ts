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

export interface FrameResult {
  frames: Buffer[];
  /** A frame grew past the maximum: the caller closes the connection. */
  overflow: boolean;
}

export class MllpDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private inFrame = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes received inside an unfinished frame (for logging). */
  get pendingBytes(): number {
    return this.size;
  }

  push(chunk: Buffer): FrameResult {
    const frames: Buffer[] = [];
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
        this.parts = [];
        this.size = 0;
        i = restart + 1;
        continue;
      }
      const stop = end < 0 ? chunk.length : end;
      if (this.size + (stop - i) > this.maxMessageBytes) {
        this.parts = [];
        this.size = 0;
        return { frames, overflow: true };
      }
      if (stop > i) {
        this.parts.push(chunk.subarray(i, stop));
        this.size += stop - i;
      }
      if (end < 0) break;
      frames.push(
        this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts, this.size),
      );
      this.parts = [];
      this.size = 0;
      this.inFrame = false;
      i = end + 1; // the CR after FS is skipped as out-of-frame bytes
    }
    return { frames, overflow: false };
  }
}
