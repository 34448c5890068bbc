// Where the events of a text/event-stream end, so that a masker can release each event as soon
// as it is complete (a masker otherwise holds a tail back until more bytes come, and an agent
// waiting for the event would wait with it). Pure and incremental: a boundary split over two
// chunks is found too.
//
// Wire fact (HTML Living Standard, 9.2.5): lines end in CRLF, LF or CR; an empty line
// dispatches the event. A boundary is therefore the end of a line terminator that ends an empty
// line. The masker is flushed only at a boundary, never in the middle of an event, so a value
// split over two chunks of one event is still seen whole.

const LF = 0x0a;
const CR = 0x0d;

export interface Segment {
  readonly bytes: Uint8Array;
  /** The segment ends at an event boundary: flush the masker after it. */
  readonly boundary: boolean;
}

export class EventBoundaries {
  private lineLength = 0;
  private afterCr = false;

  /** `chunk` cut after each event boundary; the last segment is the part of an event still open. */
  split(chunk: Uint8Array): Segment[] {
    const cuts: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF && this.afterCr) {
        // the LF of a CRLF: the terminator was counted at its CR; a boundary there includes it
        this.afterCr = false;
        if (cuts.at(-1) === i) cuts[cuts.length - 1] = i + 1;
        continue;
      }
      this.afterCr = b === CR;
      if (b === LF || b === CR) {
        if (this.lineLength === 0) cuts.push(i + 1);
        this.lineLength = 0;
      } else this.lineLength++;
    }
    const out: Segment[] = [];
    let from = 0;
    for (const cut of cuts) {
      out.push({ bytes: chunk.subarray(from, cut), boundary: true });
      from = cut;
    }
    if (from < chunk.length) out.push({ bytes: chunk.subarray(from), boundary: false });
    return out;
  }
}
