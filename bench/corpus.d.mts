import type { Zone } from "../src/index.js";

export declare const fixture: (path: string) => URL;
export declare const RSA: string;
export declare const ED: string;
export declare const envelope: { ip: string; helo: string; mailFrom: string };
export declare function benchZone(lib: {
  parseZoneFile(text: string): Zone;
  mergeZones(...zones: Zone[]): Zone;
  zoneFromObject(object: Record<string, unknown>): Zone;
}): Zone;
export declare function body(size: number): string;
export declare function unsignedMessage(name: string, size: number): Buffer;
