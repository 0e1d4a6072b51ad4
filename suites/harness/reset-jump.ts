// Decodes the instruction a firmware image holds at its reset vector (its last 16 bytes), so a
// suite can predict where the vCPU must be after executing exactly that one instruction.

export interface FetchPoint {
  csBase: number;
  rip: number;
}

/** Where a vCPU fetching from CS base 0xFFFF0000, IP 0xFFF0 goes after the first instruction. */
export function resetVectorTarget(image: Uint8Array): FetchPoint | undefined {
  const at = image.length - 16;
  const op = image[at];
  const u16 = (i: number): number => image[at + i]! | (image[at + i + 1]! << 8);
  switch (op) {
    case 0xea: // jmp ptr16:16 (far)
      return { csBase: u16(3) * 16, rip: u16(1) };
    case 0xe9: {
      // jmp rel16 (near): IP wraps within the 64 KiB segment
      const rel = (u16(1) << 16) >> 16;
      return { csBase: 0xffff_0000, rip: (0xfff0 + 3 + rel) & 0xffff };
    }
    case 0xeb: {
      const rel = (image[at + 1]! << 24) >> 24;
      return { csBase: 0xffff_0000, rip: (0xfff0 + 2 + rel) & 0xffff };
    }
    default:
      return undefined;
  }
}
