// A vCPU thread's cache of MMIO pages no device claims, so an access there is answered on the
// thread (reads all ones, writes dropped, as the MMIO bus answers it) instead of handed over to the
// device owner. Why: guests poke holes over and over. Linux's real-mode setup code saves the text
// screen (80x25 words at 0xb8000) on this machine without VGA: 2,007 of the 4,310 hand-overs of
// one `debian-probe` boot at SMP 8.
//
// Learning: the owner's reply to an unassigned MMIO access says whether the whole 4 KiB page is
// empty on its bus, with the MMIO map version it looked at (mailbox.ts). Forgetting: the owner
// bumps the version on every insert into or removal from the MMIO bus (a BAR moved, a flash
// mapped), on the owner thread, before it replies to the access that caused it; an entry counts
// only while the version it was learnt at is current. So the vCPU whose write moved a range into
// a page never answers that page itself afterwards; another vCPU's access racing with the move is
// ordered before it, as a concurrent access from another CPU may be on hardware. No posted write
// can move a range (posted-writes.ts), so a write this thread queued cannot make a page stale.

/** The page size the owner checks for emptiness. */
export const UNASSIGNED_PAGE_SIZE = 4096;
/** Pages remembered per thread: a guest that scans the whole hole keeps handing over, never grows this without bound. */
const MAX_PAGES = 256;

/** The base of the page holding `gpa` (the owner checks that span; the cache keys by its number). */
export function unassignedPageBase(gpa: number): number {
  return gpa - (gpa % UNASSIGNED_PAGE_SIZE);
}

export class UnassignedPages {
  /** Page numbers the owner found empty at map version `version`. */
  private readonly pages = new Set<number>();
  private version = -1;

  /** Whether an access of `size` bytes at `gpa` lies in one page known empty at map version `current`. */
  covers(gpa: number, size: number, current: number): boolean {
    if (current !== this.version) {
      this.pages.clear();
      this.version = current;
      return false;
    }
    const page = Math.floor(gpa / UNASSIGNED_PAGE_SIZE);
    if (Math.floor((gpa + size - 1) / UNASSIGNED_PAGE_SIZE) !== page) return false;
    return this.pages.has(page);
  }

  /** The owner found the page of `gpa` empty at map version `version` (-1: not wholly empty). */
  learn(gpa: number, version: number): void {
    if (version < 0 || version < this.version) return;
    if (version !== this.version) {
      this.pages.clear();
      this.version = version;
    }
    if (this.pages.size < MAX_PAGES) this.pages.add(Math.floor(gpa / UNASSIGNED_PAGE_SIZE));
  }

  get size(): number {
    return this.pages.size;
  }
}
