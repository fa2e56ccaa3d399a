import { describe, expect, it } from "vitest";
import { SseParser } from "../src/sse.js";

function feed(chunks: string[]) {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

describe("SseParser", () => {
  it("dispatches an event at a blank line, with its type, data and id", () => {
    expect(feed(['event: flags\nid: 7\ndata: {"a":1}\n\n'])).toEqual([{ event: "flags", data: '{"a":1}', id: "7" }]);
  });

  it("assembles events split anywhere across chunks", () => {
    const text = 'event: patch\nid: 12\ndata: {"flags":{}}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(feed([text.slice(0, cut), text.slice(cut)])).toEqual([{ event: "patch", data: '{"flags":{}}', id: "12" }]);
    }
    expect(feed(text.split(""))).toHaveLength(1);
  });

  it("treats CRLF, CR and LF alike, even a CRLF split between chunks", () => {
    expect(feed(["data: a\r", "\ndata: b\r\r", "\n"])).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
    expect(feed(["data: x\r\n\r\n"])).toEqual([{ event: "message", data: "x", id: undefined }]);
  });

  it("skips comments such as heartbeats", () => {
    expect(feed([":heartbeat\n\n", ": another\ndata: y\n\n"])).toEqual([{ event: "message", data: "y", id: undefined }]);
  });

  it("joins multi-line data with newlines and keeps a value's inner spaces", () => {
    expect(feed(["data:  two spaces\ndata:\ndata: end\n\n"])).toEqual([
      { event: "message", data: " two spaces\n\nend", id: undefined },
    ]);
  });

  it("keeps the last event id for later events and ignores ids with NUL", () => {
    const parser = new SseParser();
    expect(parser.push("id: 3\ndata: a\n\n")[0]?.id).toBe("3");
    expect(parser.push("data: b\n\n")[0]?.id).toBe("3");
    expect(parser.push("id: 4\0\ndata: c\n\n")[0]?.id).toBe("3");
    expect(parser.lastEventId).toBe("3");
  });

  it("dispatches nothing for an event without data, and resets the type", () => {
    expect(feed(["event: flags\n\ndata: z\n\n"])).toEqual([{ event: "message", data: "z", id: undefined }]);
  });

  it("holds an unfinished event until its blank line arrives", () => {
    const parser = new SseParser();
    expect(parser.push("data: {\"partial\":")).toEqual([]);
    expect(parser.push("true}\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "message", data: '{"partial":true}', id: undefined }]);
  });
});
