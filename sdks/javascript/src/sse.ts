/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * The event-stream format, fed in chunks as they arrive: lines end in CRLF, LF or CR
 * (a CR at the end of one chunk and an LF at the start of the next are one line end),
 * comments are skipped, `data` lines join with newlines, and an event is dispatched
 * at a blank line. `lastEventId` persists across events, as in browsers.
 */
export class SseParser {
  lastEventId: string | undefined;
  private buffer = "";
  private skipLf = false;
  private event = "";
  private data: string[] = [];
  private hasData = false;
  private pendingId: string | undefined;

  /** The events that `chunk` completes. */
  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = chunk;
    if (this.skipLf && text.startsWith("\n")) text = text.slice(1);
    this.skipLf = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), events);
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.skipLf = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.pendingId !== undefined) this.lastEventId = this.pendingId;
      this.pendingId = undefined;
      if (this.hasData) {
        events.push({ event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId });
      }
      this.event = "";
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.pendingId = value;
        break;
      default:
        // `retry` and unknown fields: reconnection timing is ours to choose.
        break;
    }
  }
}
