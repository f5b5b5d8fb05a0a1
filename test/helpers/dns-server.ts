import { createSocket, type Socket } from "node:dgram";
import type { Zone } from "../../src/dns/zone.js";

/**
 * A tiny authoritative DNS server on loopback UDP that serves a fixture zone, so the node:dns
 * resolver can be tested against real wire answers: NXDOMAIN (rcode 3), NODATA, SERVFAIL for names
 * listed in `servfail`, and no answer at all for names marked `timeout`.
 */
export interface TestDnsServer {
  port: number;
  address: string;
  queries: number;
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 28: "AAAA", 16: "TXT", 15: "MX", 12: "PTR", 5: "CNAME" };

function readName(msg: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! > 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString("latin1"));
    i += len + 1;
  }
  return [labels.join("."), i + 1];
}

function encodeName(name: string): Buffer {
  const parts = name === "" ? [] : name.split(".");
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "latin1")])), Buffer.from([0])]);
}

function rr(type: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return b;
}

export async function startDnsServer(zone: Zone, opts: { servfail?: string[]; ttl?: number } = {}): Promise<TestDnsServer> {
  const socket: Socket = createSocket("udp4");
  const state = { queries: 0 };
  const ttl = opts.ttl ?? 300;
  const names = new Set([...zone.keys()]);
  const ancestors = new Set<string>();
  for (const n of names) {
    const parts = n.split(".");
    for (let i = 1; i < parts.length; i++) ancestors.add(parts.slice(i).join("."));
  }
  socket.on("message", (msg, rinfo) => {
    state.queries++;
    const id = msg.readUInt16BE(0);
    const [qname, end] = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const name = qname.toLowerCase();
    const type = TYPES[qtype];
    const entry = zone.get(name);
    if (entry?.timeout === true || (Array.isArray(entry?.timeout) && type && entry.timeout.includes(type as never))) return;
    let rcode = 0;
    const answers: Buffer[] = [];
    if (opts.servfail?.includes(name)) rcode = 2;
    else if (!entry) rcode = ancestors.has(name) ? 0 : 3;
    else if (type === "A") for (const a of entry.A ?? []) answers.push(rr(1, ttl, Buffer.from(a.split(".").map(Number))));
    else if (type === "AAAA") for (const a of entry.AAAA ?? []) answers.push(rr(28, ttl, ipv6Bytes(a)));
    else if (type === "TXT")
      for (const chunks of entry.TXT ?? []) {
        answers.push(rr(16, ttl, Buffer.concat(chunks.map((c) => Buffer.concat([Buffer.from([Buffer.byteLength(c)]), Buffer.from(c)])))));
      }
    else if (type === "MX")
      for (const m of entry.MX ?? []) {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(m.priority);
        answers.push(rr(15, ttl, Buffer.concat([pref, encodeName(m.exchange)])));
      }
    else if (type === "PTR") for (const p of entry.PTR ?? []) answers.push(rr(12, ttl, encodeName(p)));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x8580 | rcode, 2); // QR, AA, RD, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  return {
    port,
    address: "127.0.0.1",
    get queries() {
      return state.queries;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
